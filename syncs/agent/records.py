"""From Open Dental rows to the protocol's records: what changed since the last read, and its shape.

Field names follow the developer API (NexHealth); references between records are foreign ids, which
are Open Dental's primary keys as strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from syncs.agent.db import STAMP_FORMAT, Database

DEFAULT_TZ = "America/Chicago"
MINUTES_PER_PATTERN_CHAR = 5  # Open Dental draws appointments in 5-minute slots
GENDERS = {0: "Male", 1: "Female"}  # 2 (unknown) and anything else → "Other"
APT_BROKEN = 5


@dataclass(frozen=True)
class Kind:
    name: str  # the protocol's kind
    table: str
    pk: str
    clinic_column: str | None  # None: shared by every location
    # Columns of other tables the mapping needs, and the joins that bring them (the table's alias is `t`).
    extra: str = ""
    joins: str = ""


# Sent in this order, so references resolve (providers, operatories, types → patients → appointments → the chart).
# Rows without a ClinicNum of their own go to their patient's clinic.
PATIENT_CLINIC = ("p.ClinicNum AS PatClinicNum", "JOIN patient p ON p.PatNum = t.PatNum")
KINDS = [
    Kind("providers", "provider", "ProvNum", "ClinicNum"),
    Kind("operatories", "operatory", "OperatoryNum", "ClinicNum"),
    Kind("appointment_types", "appointmenttype", "AppointmentTypeNum", None),
    Kind("patients", "patient", "PatNum", "ClinicNum"),
    Kind("appointments", "appointment", "AptNum", "ClinicNum"),
    Kind("procedures", "procedurelog", "ProcNum", "ClinicNum", "c.ProcCode, c.Descript",
         "LEFT JOIN procedurecode c ON c.CodeNum = t.CodeNum"),
    Kind("payments", "payment", "PayNum", "ClinicNum"),
    Kind("recall_types", "recalltype", "RecallTypeNum", None),
    Kind("patient_recalls", "recall", "RecallNum", "PatClinicNum", *PATIENT_CLINIC),
    Kind("patient_alerts", "popup", "PopupNum", "PatClinicNum", *PATIENT_CLINIC),
]


@dataclass
class Mark:
    """High-water mark of one table: the newest DateTStamp read, and the rows read at exactly it.

    DateTStamp has one-second resolution, so a row written later in the same second as the mark
    has an equal stamp. Reading `>= stamp` and skipping the ids already seen there catches it
    without resending the whole second every cycle.
    """

    stamp: str = ""
    ids: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"stamp": self.stamp, "ids": self.ids}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Mark:
        return cls(**data) if data else cls()


def read_changes(db: Database, kind: Kind, mark: Mark) -> tuple[list[dict[str, Any]], Mark]:
    """Rows of `kind` changed since `mark`, oldest first, and the mark after them."""
    sql = f"SELECT t.*{', ' + kind.extra if kind.extra else ''} FROM {kind.table} t {kind.joins}"
    params: tuple[Any, ...] = ()
    if mark.stamp:
        sql += " WHERE t.DateTStamp >= ?"
        params = (mark.stamp,)
    seen = set(mark.ids)
    rows = [row for row in db.query(sql + f" ORDER BY t.DateTStamp, t.{kind.pk}", params)
            if not (row["DateTStamp"] == mark.stamp and row[kind.pk] in seen)]
    if not rows:
        return rows, mark
    newest = rows[-1]["DateTStamp"]
    ids = [row[kind.pk] for row in rows if row["DateTStamp"] == newest]
    if newest == mark.stamp:
        ids = mark.ids + ids
    return rows, Mark(newest, ids)


# --- locations --------------------------------------------------------------------------------------

def read_locations(db: Database) -> list[dict[str, Any]]:
    """Clinics as protocol locations. Without clinics (a single-office Open Dental) there is one, "0"."""
    clinics = db.query("SELECT * FROM clinic WHERE IsHidden = 0 ORDER BY ClinicNum")
    if not clinics:
        return [{"foreign_id": "0", "name": "Main office", "tz": DEFAULT_TZ}]
    return [{
        "foreign_id": str(c["ClinicNum"]), "name": c["Description"] or c.get("Abbr") or f"Clinic {c['ClinicNum']}",
        "street_address": c["Address"] or "", "street_address_2": c["Address2"] or "", "city": c["City"] or "",
        "state": c["State"] or "", "zip_code": c["Zip"] or "", "phone_number": _digits(c["Phone"]),
        # Open Dental has no time-zone column; honour one if a site added it, else Central time.
        "tz": c.get("TimeZone") or DEFAULT_TZ,
    } for c in clinics]


def locations_for(row: dict[str, Any], kind: Kind, location_ids: list[str]) -> list[str]:
    """ClinicNum 0 (or a kind without clinics) belongs to every location; a hidden clinic's rows go nowhere."""
    clinic = str(row[kind.clinic_column]) if kind.clinic_column else "0"
    if clinic == "0":
        return location_ids
    return [clinic] if clinic in location_ids else []


# --- records ----------------------------------------------------------------------------------------

def _digits(phone: str | None) -> str:
    return re.sub(r"\D", "", phone or "")


def _ref(value: Any) -> str | None:
    return str(value) if value else None  # Open Dental uses 0 for "none"


def local_to_utc(local: str, tz: str) -> datetime:
    return datetime.strptime(local, STAMP_FORMAT).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def minutes(pattern: str | None) -> int:
    return len(pattern or "") * MINUTES_PER_PATTERN_CHAR


def provider(row: dict[str, Any], tz: str) -> dict[str, Any]:
    return {
        "foreign_id": str(row["ProvNum"]), "first_name": row["FName"] or "", "last_name": row["LName"] or "",
        "display_name": " ".join(part for part in (row["FName"], row["LName"]) if part) or row["Abbr"] or "",
        "npi": row["NationalProvID"] or "", "inactive": bool(row["IsHidden"]),
        "updated_at": iso(local_to_utc(row["DateTStamp"], tz)),
    }


def operatory(row: dict[str, Any], tz: str) -> dict[str, Any]:
    return {
        "foreign_id": str(row["OperatoryNum"]), "name": row["OpName"] or row["Abbrev"] or f"Op {row['OperatoryNum']}",
        "display_name": row["Abbrev"] or row["OpName"] or "", "active": not row["IsHidden"],
        "updated_at": iso(local_to_utc(row["DateTStamp"], tz)),
    }


def appointment_type(row: dict[str, Any], tz: str) -> dict[str, Any]:
    return {
        "foreign_id": str(row["AppointmentTypeNum"]), "name": row["AppointmentTypeName"],
        # The protocol wants at least a minute; an empty Pattern in Open Dental means its 10-minute default.
        "minutes": minutes(row["Pattern"]) or 10,
        "updated_at": iso(local_to_utc(row["DateTStamp"], tz)),
    }


def patient(row: dict[str, Any], tz: str) -> dict[str, Any]:
    birthdate = row["Birthdate"]
    return {
        "foreign_id": str(row["PatNum"]), "first_name": row["FName"] or "", "last_name": row["LName"] or "",
        "email": row["Email"] or "",
        "bio": {
            "date_of_birth": birthdate if birthdate and birthdate > "1800" else None,  # 0001-01-01: unknown
            "phone_number": _digits(row["WirelessPhone"] or row["HmPhone"]),
            "gender": GENDERS.get(row["Gender"], "Other"),
            "street_address": row["Address"] or "", "city": row["City"] or "", "state": row["State"] or "",
            "zip_code": row["Zip"] or "",
        },
        "inactive": row["PatStatus"] != 0, "provider_foreign_id": _ref(row["PriProv"]),
        "updated_at": iso(local_to_utc(row["DateTStamp"], tz)),
    }


def appointment(row: dict[str, Any], tz: str) -> dict[str, Any] | None:
    if not row["AptDateTime"] or row["AptDateTime"] < "1900":
        return None  # Open Dental's 0001-01-01: never placed on the schedule, so nothing to book around
    start = local_to_utc(row["AptDateTime"], tz)
    return {
        "foreign_id": str(row["AptNum"]), "start_time": iso(start),
        "end_time": iso(start + timedelta(minutes=minutes(row["Pattern"]))),
        "patient_foreign_id": _ref(row["PatNum"]), "provider_foreign_id": _ref(row["ProvNum"]),
        "operatory_foreign_id": _ref(row["Op"]), "appointment_type_foreign_id": _ref(row["AppointmentTypeNum"]),
        "cancelled": row["AptStatus"] == APT_BROKEN, "confirmed": bool(row["Confirmed"]), "note": row["Note"] or "",
        "updated_at": iso(local_to_utc(row["DateTStamp"], tz)),
    }


# Open Dental's ProcStatus: 1 treatment planned, 2 complete, 3/4 existing (current/other provider), 5 referred,
# 6 deleted, 7 condition, 8 planned inactive.
PROC_STATUSES = {1: "planned", 2: "completed", 3: "completed", 4: "completed", 5: "referred", 6: "inactive",
                 7: "inactive", 8: "inactive"}


def _date(value: Any) -> str | None:
    text = str(value or "")[:10]
    return text if text > "1800" else None  # 0001-01-01: none


def procedure(row: dict[str, Any], tz: str) -> dict[str, Any]:
    status = PROC_STATUSES.get(row["ProcStatus"], "inactive")
    return {
        "foreign_id": str(row["ProcNum"]), "patient_foreign_id": _ref(row["PatNum"]),
        "provider_foreign_id": _ref(row["ProvNum"]), "appointment_foreign_id": _ref(row["AptNum"]),
        "code": row.get("ProcCode") or "", "name": row.get("Descript") or "", "status": status,
        "start_date": _date(row["ProcDate"]), "end_date": _date(row["ProcDate"]) if status == "completed" else None,
        "fee": f"{float(row['ProcFee'] or 0):.2f}",
        "body_site": {"tooth": [row["ToothNum"]] if row["ToothNum"] else [], "surface": row["Surf"] or ""},
    }


def payment(row: dict[str, Any], tz: str) -> dict[str, Any]:
    return {
        "foreign_id": str(row["PayNum"]), "patient_foreign_id": _ref(row["PatNum"]), "paid_at": _date(row["PayDate"]),
        "amount": f"{float(row['PayAmt'] or 0):.2f}", "description": row["PayNote"] or "",
    }


def recall_type(row: dict[str, Any], tz: str) -> dict[str, Any]:
    return {"foreign_id": str(row["RecallTypeNum"]), "name": row["Description"] or "",
            "description": row["Description"] or "", "interval_num": int(row["DefaultInterval"] or 0),
            "interval_unit": "month"}


def patient_recall(row: dict[str, Any], tz: str) -> dict[str, Any] | None:
    if row["IsDisabled"]:
        return None
    return {"foreign_id": str(row["RecallNum"]), "patient_foreign_id": _ref(row["PatNum"]),
            "recall_type_foreign_id": _ref(row["RecallTypeNum"]), "date_due": _date(row["DateDue"])}


def patient_alert(row: dict[str, Any], tz: str) -> dict[str, Any]:
    archived = iso(local_to_utc(row["DateTStamp"], tz)) if row["IsArchived"] else None
    return {"foreign_id": str(row["PopupNum"]), "patient_foreign_id": str(row["PatNum"]),
            "note": row["Description"] or "", "disabled_at": archived}


MAPPERS: dict[str, Callable[[dict[str, Any], str], dict[str, Any] | None]] = {
    "providers": provider, "operatories": operatory, "appointment_types": appointment_type,
    "patients": patient, "appointments": appointment, "procedures": procedure, "payments": payment,
    "recall_types": recall_type, "patient_recalls": patient_recall, "patient_alerts": patient_alert,
}


def group_records(kind: Kind, rows: list[dict[str, Any]], tz_by_location: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Records per location foreign id; a shared row is mapped once per location (its time zone may differ)."""
    grouped: dict[str, list[dict[str, Any]]] = {location: [] for location in tz_by_location}
    for row in rows:
        for location in locations_for(row, kind, list(tz_by_location)):
            record = MAPPERS[kind.name](row, tz_by_location[location])
            if record is not None:
                grouped[location].append(record)
    return {location: records for location, records in grouped.items() if records}
