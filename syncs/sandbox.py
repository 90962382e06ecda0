"""Sample practice data for sandbox institutions.

A sandbox has no Synchronizer behind it, so we fill it with two Open Dental offices' worth of
providers, chairs, patients and a four-month schedule a developer can read and book against.

The data is derived from the institution's subdomain alone (plus `today` for the schedule), so a
sandbox looks the same every time it is rebuilt, and tests can rely on it. Everything is inserted
in bulk (one COPY per kind on PostgreSQL, `portal/bulk_insert.py`): this runs for every new organization
and in test fixtures, so it must be cheap (about 0.6 s on PostgreSQL for some 4,000 rows, 1.0 s with bulk_create).
"""

import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from institutions.board import live_locations_refresh
from institutions.models import Institution, InstitutionAccess, Location
from institutions.services import identity_key, subdomain_for
from portal.audit import audit_record
from portal.bulk_insert import bulk_insert
from portal.models import Organization
from syncs.sandbox_ledger import ledger_populate
from syncs.models import (
    Appointment,
    AppointmentType,
    Operatory,
    Patient,
    PracticeRecord,
    Provider,
    Sync,
    WorkingHour,
)

FOREIGN_ID_TYPE = "msg-opendental"
SCHEDULE_DAYS = 60  # appointments run this many days either side of today


@dataclass(frozen=True)
class Office:
    fields: dict  # Location field values
    area_codes: tuple[str, ...]  # for patients' phone numbers
    towns: tuple[tuple[str, str], ...]  # (city, zip code) where its patients live


# Fictional offices; phone numbers use the 555-01xx range reserved for fiction.
OFFICES = [
    Office(
        fields={
            "name": "Lakeview Family Dental",
            "street_address": "2935 N Broadway",
            "street_address_2": "Suite 200",
            "city": "Chicago",
            "state": "IL",
            "zip_code": "60657",
            "phone_number": "7735550142",
            "email": "lakeview@example.com",
            "tz": "America/Chicago",
            "latitude": 41.9358,
            "longitude": -87.6445,
        },
        area_codes=("312", "773", "847", "708"),
        towns=(("Chicago", "60657"), ("Chicago", "60614"), ("Evanston", "60201"), ("Oak Park", "60302")),
    ),
    Office(
        fields={
            "name": "Cherry Creek Dental Care",
            "street_address": "245 Columbine St",
            "street_address_2": "Suite 310",
            "city": "Denver",
            "state": "CO",
            "zip_code": "80206",
            "phone_number": "3035550187",
            "email": "cherrycreek@example.com",
            "tz": "America/Denver",
            "latitude": 39.7190,
            "longitude": -104.9535,
        },
        area_codes=("303", "720"),
        towns=(("Denver", "80206"), ("Denver", "80218"), ("Aurora", "80012"), ("Lakewood", "80226")),
    ),
]

FEMALE_NAMES = [
    "Maya", "Sarah", "Emily", "Olivia", "Sofia", "Grace", "Hannah", "Chloe", "Ava", "Isabella",
    "Priya", "Mei", "Aisha", "Camila", "Natalie", "Rachel", "Laura", "Jessica", "Megan", "Zoe",
]  # fmt: skip
MALE_NAMES = [
    "James", "Daniel", "Michael", "David", "Ethan", "Noah", "Lucas", "Mateo", "Samuel", "Benjamin",
    "Andrew", "Ryan", "Kevin", "Omar", "Marcus", "Carlos", "Jason", "Tyler", "Nathan", "Henry",
]  # fmt: skip
LAST_NAMES = [
    "Patel", "Nguyen", "Garcia", "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller",
    "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas",
    "Taylor", "Moore", "Jackson", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
    "Robinson", "Walker", "Young", "King", "Wright", "Scott", "Kim", "Chen", "Shah", "Murphy",
    "O'Brien", "Rivera", "Cohen", "Okafor",
]  # fmt: skip
STREETS = [
    "Maple Ave", "Oak St", "Cedar Ln", "Elm St", "Lakeview Dr", "Washington Blvd", "Park Ave",
    "Pine St", "Highland Ave", "Willow Way", "Ridge Rd", "Lincoln Ave", "Main St", "Madison St",
]  # fmt: skip
INSURERS = ["Delta Dental", "Cigna Dental", "MetLife", "Aetna Dental", "Guardian", ""]
NOTES = [
    "", "", "", "", "Prefers morning appointments", "Premedicate before treatment",
    "Bring updated insurance card", "Sensitivity lower left molar", "Anxious patient",
]  # fmt: skip

# (name, minutes, bookable online); crown preps are booked by the front desk.
APPOINTMENT_TYPES = [
    ("New Patient Exam", 60, True),
    ("Cleaning", 60, True),
    ("Emergency", 30, True),
    ("Crown Prep", 90, False),
    ("Consultation", 30, True),
]
# Which appointment types each role's working hours accept, and NUCC taxonomy codes.
ROLE_TYPES = {
    "dentist": {"New Patient Exam", "Emergency", "Crown Prep", "Consultation"},
    "hygienist": {"Cleaning", "New Patient Exam"},
}
ROLE_TAXONOMY = {"dentist": "1223G0001X", "hygienist": "124Q00000X"}
ROLES = ["dentist", "dentist", "dentist", "hygienist", "hygienist", "hygienist"]

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
# (days, begin, end). The first provider of each office always works the first one, so every
# weekday has someone in the chair; each schedule leaves room for at least two 90-minute visits.
SCHEDULES = [
    (WEEKDAYS, time(8), time(17)),
    (WEEKDAYS[:4], time(7), time(16)),
    (WEEKDAYS[1:], time(9), time(18)),
]


def sandbox_populate(*, institution: Institution, today: date | None = None) -> None:
    """Fill a sandbox institution with deterministic sample practice data; no-op if it has locations."""
    if institution.locations.exists():
        return
    now = timezone.now()
    today = today or now.date()
    # Past/future is judged at this instant, so an explicit `today` still splits the schedule
    # around "now" on that day.
    moment = datetime.combine(today, now.time(), tzinfo=UTC)
    # crc32, not hash(): str hashes are salted per process, and the sandbox must be reproducible.
    # One generator drawn in a fixed order; staff and patients come before the schedule, so
    # their names never depend on `today`.
    rng = random.Random(zlib.crc32(institution.subdomain.encode()))
    # Ids rather than instances in every constructor: it makes building ~2,000 rows much cheaper.
    stamps = {
        "institution_id": institution.pk,
        "foreign_id_type": FOREIGN_ID_TYPE,
        "last_sync_time": now,
        "created_at": now,  # bulk inserts skip PracticeRecord.save(), so set both timestamps here
        "updated_at": now,
    }

    with transaction.atomic():
        sync = Sync.objects.create(
            institution=institution,
            operator_id=institution.accesses.order_by("created_at", "pk").values_list("organization_id", flat=True).first(),
            ehr="opendental",
            status=Sync.Status.ACTIVE,
            last_read_at=now,
            last_write_at=now,
            created_at=now,
        )
        locations = Location.objects.bulk_create(
            Location(
                institution=institution,
                sync=sync,
                active=True,
                foreign_id=str(n),
                foreign_id_type=FOREIGN_ID_TYPE,
                insert_appt_client=n == 1,
                created_at=now,
                **office.fields,
            )
            for n, office in enumerate(OFFICES, 1)
        )
        live_locations_refresh([institution.pk])  # bulk_create skips the receivers
        providers, hours, accepted = _create_staff(rng, stamps, locations)
        patients = _create_patients(rng, stamps, locations, providers, today)
        appointments = []
        for location in locations:
            rec = {**stamps, "location_id": location.pk}
            active = [p for p in patients if p.location_id == location.pk and not p.inactive]
            tz = ZoneInfo(location.tz)
            for offset in range(-SCHEDULE_DAYS, SCHEDULE_DAYS + 1):
                day = today + timedelta(days=offset)
                if day.weekday() >= len(WEEKDAYS):  # the office is closed at weekends
                    continue
                for wh in hours:
                    if wh.location_id == location.pk and WEEKDAYS[day.weekday()] in wh.days:
                        appointments += _chair_day(rng, rec, wh, accepted[wh.pk], active, day, tz, moment)
        _create(appointments)
        ledger_populate(institution=institution, locations=locations, stamps=stamps, moment=moment)


def _create_staff(
    rng: random.Random, stamps: dict, locations: list[Location]
) -> tuple[list[Provider], list[WorkingHour], dict[int, list[AppointmentType]]]:
    """Providers, chairs and appointment types per location; one working-hour block per provider,
    each in their own chair. Returns the appointment types each block accepts, by its id."""
    providers, operatories, types = [], [], []
    for location in locations:
        rec = {**stamps, "location_id": location.pk}
        tin = f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}"
        providers += [
            Provider(
                **rec,
                first_name=first,
                last_name=last,
                email=f"{_slug(first)}.{_slug(last)}@example.com",
                display_name=f"Dr. {first} {last}" if role == "dentist" else f"{first} {last}, RDH",
                npi="1" + "".join(rng.choices("0123456789", k=9)),
                tin=tin,
                state_license=f"{location.state}-{rng.randint(10000, 99999)}",
                specialty_code=ROLE_TAXONOMY[role],
            )
            for role, (first, last, _gender) in zip(ROLES, _unique_people(rng, len(ROLES)))
        ]
        operatories += [
            Operatory(**rec, name=f"Op {n}", display_name=f"Operatory {n}") for n in range(1, len(ROLES) + 1)
        ]
        types += [
            AppointmentType(**rec, name=name, minutes=minutes, bookable_online=online)
            for name, minutes, online in APPOINTMENT_TYPES
        ]
    _create(providers)
    _create(operatories)
    _create(types)

    hours = []
    for i, (provider, operatory) in enumerate(zip(providers, operatories)):
        days, begin, end = SCHEDULES[0] if i % len(ROLES) == 0 else rng.choice(SCHEDULES)
        hours.append(
            WorkingHour(
                **stamps,
                location_id=provider.location_id,
                provider_id=provider.pk,
                operatory_id=operatory.pk,
                begin_time=begin,
                end_time=end,
                days=list(days),
            )
        )
    _create(hours)
    accepted = {
        wh.pk: [t for t in types if t.location_id == wh.location_id and t.name in ROLE_TYPES[_role(provider)]]
        for wh, provider in zip(hours, providers)
    }
    through = WorkingHour.appointment_types.through
    through.objects.bulk_create(
        [through(workinghour_id=pk, appointmenttype_id=t.pk) for pk, ts in accepted.items() for t in ts]
    )
    return providers, hours, accepted


def _create_patients(
    rng: random.Random, stamps: dict, locations: list[Location], providers: list[Provider], today: date
) -> list[Patient]:
    patients = []
    for location, office in zip(locations, OFFICES):
        rec = {**stamps, "location_id": location.pk}
        dentists = [p for p in providers if p.location_id == location.pk and _role(p) == "dentist"]
        patients += [_patient(rng, rec, office, rng.choice(dentists), today) for _ in range(rng.randint(110, 130))]
    for n, patient in enumerate(patients, 1):
        patient.chart_id = str(1000 + n)
    _create(patients)
    return patients


def _create(objs: Sequence[PracticeRecord]) -> None:
    """Number rows like the EHR's own keys (unique per institution, so per location) and insert them (one COPY on
    PostgreSQL, bulk_create elsewhere)."""
    for n, obj in enumerate(objs, 1):
        obj.foreign_id = str(n)
    bulk_insert(type(objs[0]), list(objs))


def _role(provider: Provider) -> str:
    return next(role for role, code in ROLE_TAXONOMY.items() if code == provider.specialty_code)


def _slug(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def _person(rng: random.Random) -> tuple[str, str, str]:
    gender = rng.choice(["Female", "Male"])
    first = rng.choice(FEMALE_NAMES if gender == "Female" else MALE_NAMES)
    return first, rng.choice(LAST_NAMES), gender


def _unique_people(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    people: dict[tuple[str, str], tuple[str, str, str]] = {}
    while len(people) < count:
        person = _person(rng)
        people.setdefault(person[:2], person)
    return list(people.values())


def _patient(rng: random.Random, rec: dict, office: Office, dentist: Provider, today: date) -> Patient:
    first, last, gender = _person(rng)
    phone = f"{rng.choice(office.area_codes)}555{rng.randint(100, 199):04d}"
    city, zip_code = rng.choice(office.towns)
    street = f"{rng.randint(100, 9899)} {rng.choice(STREETS)}"
    unit = f"Apt {rng.randint(1, 24)}{rng.choice('ABCD')}" if rng.random() < 0.15 else ""
    email = f"{_slug(first)}.{_slug(last)}{rng.randint(1, 99)}@example.com" if rng.random() < 0.85 else ""
    return Patient(
        **rec,
        first_name=first,
        middle_name=rng.choice("ABCDEJKLMRST") if rng.random() < 0.3 else "",
        last_name=last,
        email=email,
        inactive=rng.random() < 0.08,
        billing_type=rng.choices(["Standard Account", "Finance Charge", "Collection"], [90, 7, 3])[0],
        preferred_language="es" if rng.random() < 0.1 else "en",
        provider_id=dentist.pk,
        bio={
            "date_of_birth": (today - timedelta(days=rng.randint(4 * 365, 88 * 365))).isoformat(),
            "phone_number": phone,
            "cell_phone_number": phone,
            "gender": gender,
            "street_address": street,
            "address_line_1": street,
            "address_line_2": unit,
            "city": city,
            "state": office.fields["state"],
            "zip_code": zip_code,
            "insurance_name": rng.choice(INSURERS),
        },
    )


def _chair_day(
    rng: random.Random,
    rec: dict,
    wh: WorkingHour,
    types: list[AppointmentType],
    patients: list[Patient],
    day: date,
    tz: ZoneInfo,
    moment: datetime,
) -> list[Appointment]:
    """One or two visits in this provider's chair, back to back or with gaps, inside their hours."""
    # Local wall-clock times: working hours are in the office's zone; DST shifts the UTC values.
    cursor = datetime.combine(day, wh.begin_time, tzinfo=tz) + timedelta(minutes=rng.choice([0, 0, 30, 60, 90]))
    close = datetime.combine(day, wh.end_time, tzinfo=tz)
    visits = []
    for _ in range(rng.randint(1, 2)):
        kind = rng.choice(types)
        end = cursor + timedelta(minutes=kind.minutes)
        if end > close:
            break
        start_utc, end_utc = cursor.astimezone(UTC), end.astimezone(UTC)
        visits.append(
            Appointment(
                **rec,
                patient_id=rng.choice(patients).pk,
                provider_id=wh.provider_id,
                operatory_id=wh.operatory_id,
                appointment_type_id=kind.pk,
                start_time=start_utc,
                end_time=end_utc,
                note=rng.choice(NOTES),
                sooner_if_possible=rng.random() < 0.05,
                is_new_clients_patient=kind.name == "New Patient Exam",
                **_status(rng.random(), timedelta(hours=rng.randint(12, 72)), start_utc, end_utc, moment),
            )
        )
        cursor = end + timedelta(minutes=rng.choice([0, 0, 30, 60, 120]))
    return visits


def _status(roll: float, lead: timedelta, start: datetime, end: datetime, moment: datetime) -> dict:
    """Confirmation, cancellation and check-in fields; no timestamp lies after `moment`.

    The random draws are made by the caller whatever the branch, so the time of day the sandbox
    is built at changes statuses only, never the rest of the schedule.
    """
    if end <= moment:  # already happened
        if roll < 0.08:
            return {"cancelled": True, "cancelled_at": start - lead}
        confirmed = roll < 0.9
        fields = {"confirmed": confirmed, "confirmed_at": start - lead if confirmed else None}
        if roll < 0.13:
            return {**fields, "patient_missed": True}
        return {**fields, "checkin_at": start - timedelta(minutes=10), "checked_out": True, "checked_out_at": end}
    if start <= moment:  # in the chair right now
        return {"confirmed": True, "confirmed_at": start - lead, "checkin_at": start - timedelta(minutes=10)}
    if roll < 0.05:
        return {"cancelled": True, "cancelled_at": min(start - lead, moment)}
    # Reminders go out a few days ahead, so near visits are mostly confirmed, far ones rarely.
    if roll < (0.75 if start - moment < timedelta(days=3) else 0.2):
        return {"confirmed": True, "confirmed_at": min(start - lead, moment)}
    return {}


@transaction.atomic
def sandbox_create(*, organization: Organization) -> Institution:
    """Every organization gets its own '<Org> Demo Practice' to try the API against."""
    name = f"{organization.name} Demo Practice"
    institution = Institution.objects.create(
        name=name,
        subdomain=subdomain_for(f"{organization.name}-demo"),
        is_sandbox=True,
        street_address="100 Sample Street",
        city="Austin",
        state="TX",
        zip_code="78701",
        phone_number="5125550100",
        contact_name="Demo Practice Manager",
    )
    InstitutionAccess.objects.create(organization=organization, institution=institution, via=InstitutionAccess.Via.CREATED,
                                     identity=identity_key(institution.name, institution.zip_code))
    if settings.SANDBOX_SAMPLE_DATA:
        # In the same transaction (about half a second of bulk inserts): a sandbox is never half-filled.
        sandbox_populate(institution=institution)
    return institution


def sandbox_create_for_new_organization(sender, *, organization: Organization, actor, ip=None, **kwargs) -> None:
    """Every new organization gets its sandbox in the sign-up's own transaction (connected in SyncsConfig.ready)."""
    sandbox = sandbox_create(organization=organization)
    audit_record(verb="institution.sandbox_created", actor=actor, organization=organization, target=sandbox, ip=ip)
