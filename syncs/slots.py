"""Available slots: working hours minus existing appointments, in the location's time zone."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from institutions.models import Location
from syncs.models import Appointment, WorkingHour

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class SlotQuery:
    locations: list[Location]
    start_date: date
    days: int
    provider_ids: list[int] | None
    operatory_ids: list[int] | None
    appointment_type_id: int | None
    slot_length: int  # minutes
    slot_interval: int  # minutes between slot starts


def _works_on(hours: WorkingHour, day: date) -> bool:
    if hours.specific_date:
        return hours.specific_date == day
    return WEEKDAYS[day.weekday()] in (hours.days or [])


def available_slots(query: SlotQuery, *, now: datetime) -> list[dict]:
    location_ids = [loc.pk for loc in query.locations]
    tz_of = {loc.pk: ZoneInfo(loc.tz) for loc in query.locations}
    hours_qs = WorkingHour.objects.filter(location_id__in=location_ids, active=True).prefetch_related("appointment_types")
    if query.provider_ids:
        hours_qs = hours_qs.filter(provider_id__in=query.provider_ids)
    if query.operatory_ids:
        hours_qs = hours_qs.filter(operatory_id__in=query.operatory_ids)
    hours = list(hours_qs.order_by("id"))
    if query.appointment_type_id is not None:
        hours = [h for h in hours if any(t.pk == query.appointment_type_id for t in h.appointment_types.all())]

    window_start = datetime.combine(query.start_date, time.min, tzinfo=ZoneInfo("UTC")) - timedelta(days=1)
    window_end = window_start + timedelta(days=query.days + 2)
    busy: dict[tuple, list[tuple[datetime, datetime]]] = defaultdict(list)
    for appt in Appointment.objects.filter(
        location_id__in=location_ids, cancelled=False, start_time__lt=window_end, end_time__gt=window_start
    ).only("provider_id", "operatory_id", "start_time", "end_time"):
        busy[("provider", appt.provider_id)].append((appt.start_time, appt.end_time))
        if appt.operatory_id:
            busy[("operatory", appt.operatory_id)].append((appt.start_time, appt.end_time))

    def is_free(start: datetime, end: datetime, hours: WorkingHour) -> bool:
        keys = [("provider", hours.provider_id)] + ([("operatory", hours.operatory_id)] if hours.operatory_id else [])
        return all(not (s < end and start < e) for key in keys for s, e in busy[key])

    length, step = timedelta(minutes=query.slot_length), timedelta(minutes=query.slot_interval)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for h in hours:
        tz = tz_of[h.location_id]
        groups.setdefault((h.location_id, h.provider_id, h.operatory_id), [])
        for offset in range(query.days):
            day = query.start_date + timedelta(days=offset)
            if not _works_on(h, day):
                continue
            start = datetime.combine(day, h.begin_time, tzinfo=tz)
            day_end = datetime.combine(day, h.end_time, tzinfo=tz)
            while start + length <= day_end:
                end = start + length
                if start > now and is_free(start, end, h):
                    groups[(h.location_id, h.provider_id, h.operatory_id)].append({
                        "time": start.isoformat(), "end_time": end.isoformat(),
                        "operatory_id": h.operatory_id, "provider_id": h.provider_id,
                    })
                start += step
    return [
        {
            "lid": lid, "pid": pid, "operatory_id": operatory_id,
            "slots": sorted(slots, key=lambda s: s["time"]),
            "next_available_date": min((s["time"][:10] for s in slots), default=None),
        }
        for (lid, pid, operatory_id), slots in sorted(groups.items())
    ]
