"""From Open Dental rows to the protocol's records: what changed since the last read, and its shape.

Field names follow the developer API (NexHealth); references between records are foreign ids, which
are Open Dental's primary keys as strings.
"""

from __future__ import annotations

import mimetypes
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
    where: str = ""  # which of the table's rows are this kind's (a definition category, a schedule type)
    mark: str = ""  # the state's key for this kind's high-water mark when another kind reads the same table
    # A child table read with each changed row (its rows name the parent by the same column as `pk`), handed to
    # the mapper as row["children"]: a claim's claimprocs, a plan's procedures. A change that touches only a
    # child row is read when Open Dental stamps its parent, as it does on receiving a claim's payment.
    children: str = ""

    @property
    def mark_key(self) -> str:
        return self.mark or self.table


# Open Dental's definition categories (the `definition` table holds many lookup lists).
DEF_ADJ_TYPES, DEF_PAYMENT_TYPES, DEF_IMAGE_CATS = 1, 10, 18
PROC_COMPLETE, PROC_DELETED = 2, 6
SCHED_PROVIDER = 1

# Sent in this order, so references resolve: providers, operatories, types -> patients -> appointments -> the
# chart (procedures, their charges) -> fee schedules -> insurance plans -> coverages -> claims -> the ledger.
# Rows without a ClinicNum of their own go to their patient's clinic.
PATIENT_CLINIC = ("p.ClinicNum AS PatClinicNum", "JOIN patient p ON p.PatNum = t.PatNum")
PROCEDURE_CODE = ("c.ProcCode, c.Descript", "LEFT JOIN procedurecode c ON c.CodeNum = t.CodeNum")
CARRIER = (", ".join(f"c.{column} AS Carrier{column}" for column in ("Address", "Address2", "City", "State", "Zip"))
           + ", c.CarrierName, c.ElectID", "LEFT JOIN carrier c ON c.CarrierNum = t.CarrierNum")
KINDS = [
    Kind("providers", "provider", "ProvNum", "ClinicNum"),
    Kind("operatories", "operatory", "OperatoryNum", "ClinicNum"),
    Kind("appointment_types", "appointmenttype", "AppointmentTypeNum", None),
    Kind("patients", "patient", "PatNum", "ClinicNum"),
    Kind("appointments", "appointment", "AptNum", "ClinicNum"),
    Kind("procedures", "procedurelog", "ProcNum", "ClinicNum", *PROCEDURE_CODE),
    # Open Dental's ledger charges are its completed procedures; deleting one voids its charge.
    Kind("charges", "procedurelog", "ProcNum", "ClinicNum", *PROCEDURE_CODE,
         where=f"t.ProcStatus IN ({PROC_COMPLETE}, {PROC_DELETED})", mark="procedurelog:charges"),
    Kind("fee_schedules", "feesched", "FeeSchedNum", None),
    Kind("fee_schedule_procedures", "fee", "FeeNum", "ClinicNum", *PROCEDURE_CODE),
    Kind("insurance_plans", "insplan", "PlanNum", None, *CARRIER),
    Kind("insurance_coverages", "patplan", "PatPlanNum", "PatClinicNum",
         PATIENT_CLINIC[0] + ", s.PlanNum, s.Subscriber, s.SubscriberID, s.DateEffective, s.DateTerm",
         PATIENT_CLINIC[1] + " LEFT JOIN inssub s ON s.InsSubNum = t.InsSubNum"),
    Kind("claims", "claim", "ClaimNum", "ClinicNum", children="claimproc"),
    Kind("adjustment_types", "definition", "DefNum", None, where=f"t.Category = {DEF_ADJ_TYPES}",
         mark=f"definition:{DEF_ADJ_TYPES}"),
    Kind("adjustments", "adjustment", "AdjNum", "ClinicNum"),
    Kind("payment_types", "definition", "DefNum", None, where=f"t.Category = {DEF_PAYMENT_TYPES}",
         mark=f"definition:{DEF_PAYMENT_TYPES}"),
    Kind("payments", "payment", "PayNum", "ClinicNum"),
    Kind("treatment_plans", "treatplan", "TreatPlanNum", "PatClinicNum", *PATIENT_CLINIC, children="treatplanattach"),
    Kind("recall_types", "recalltype", "RecallTypeNum", None),
    Kind("patient_recalls", "recall", "RecallNum", "PatClinicNum", *PATIENT_CLINIC),
    Kind("clinical_notes", "procnote", "ProcNoteNum", "PatClinicNum", PATIENT_CLINIC[0] + ", pl.ProcStatus",
         PATIENT_CLINIC[1] + " LEFT JOIN procedurelog pl ON pl.ProcNum = t.ProcNum"),
    Kind("document_types", "definition", "DefNum", None, where=f"t.Category = {DEF_IMAGE_CATS}",
         mark=f"definition:{DEF_IMAGE_CATS}"),
    Kind("patient_documents", "document", "DocNum", "PatClinicNum", *PATIENT_CLINIC),
    Kind("patient_alerts", "popup", "PopupNum", "PatClinicNum", *PATIENT_CLINIC),
    Kind("staff", "employee", "EmployeeNum", None),
    Kind("working_hours", "schedule", "ScheduleNum", "ClinicNum", "pv.ClinicNum AS ProvClinicNum",
         "JOIN provider pv ON pv.ProvNum = t.ProvNum", where=f"t.SchedType = {SCHED_PROVIDER}", children="scheduleop"),
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
    conditions = [kind.where] if kind.where else []
    params: tuple[Any, ...] = ()
    if mark.stamp:
        conditions.append("t.DateTStamp >= ?")
        params = (mark.stamp,)
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    seen = set(mark.ids)
    rows = [row for row in db.query(sql + f" ORDER BY t.DateTStamp, t.{kind.pk}", params)
            if not (row["DateTStamp"] == mark.stamp and row[kind.pk] in seen)]
    if not rows:
        return rows, mark
    if kind.children:
        _attach_children(db, kind, rows)
    newest = rows[-1]["DateTStamp"]
    ids = [row[kind.pk] for row in rows if row["DateTStamp"] == newest]
    if newest == mark.stamp:
        ids = mark.ids + ids
    return rows, Mark(newest, ids)


def _attach_children(db: Database, kind: Kind, rows: list[dict[str, Any]]) -> None:
    """row["children"]: the child table's rows of each parent, a query per 500 parents (never one per row)."""
    by_parent = {row[kind.pk]: row for row in rows}
    for row in rows:
        row["children"] = []
    keys = list(by_parent)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for child in db.query(f"SELECT * FROM {kind.children} WHERE {kind.pk} IN ({', '.join('?' * len(chunk))})"
                              " ORDER BY 1", chunk):
            by_parent[child[kind.pk]]["children"].append(child)


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


def _money(value: Any) -> str:
    return f"{float(value or 0):.2f}"


def _stamp(row: dict[str, Any], tz: str) -> str:
    return iso(local_to_utc(row["DateTStamp"], tz))


def _midnight(day: Any, tz: str) -> str | None:
    """A date column as the start of that day at the location, for fields the API keeps as times."""
    text = _date(day)
    return iso(local_to_utc(f"{text} 00:00:00", tz)) if text else None


def charge(row: dict[str, Any], tz: str) -> dict[str, Any]:
    """A completed procedure as its ledger charge (same ProcNum); a deleted one's charge is voided, not dropped."""
    return {
        "foreign_id": str(row["ProcNum"]), "patient_foreign_id": _ref(row["PatNum"]),
        "provider_foreign_id": _ref(row["ProvNum"]), "procedure_foreign_id": str(row["ProcNum"]),
        "procedure_code": row.get("ProcCode") or "", "description": row.get("Descript") or "",
        "charged_at": _date(row["ProcDate"]), "fee": _money(row["ProcFee"]),
        "deleted_at": _stamp(row, tz) if row["ProcStatus"] == PROC_DELETED else None,
    }


def fee_schedule(row: dict[str, Any], tz: str) -> dict[str, Any]:
    return {"foreign_id": str(row["FeeSchedNum"]), "name": row["Description"] or "", "active": not row["IsHidden"]}


def fee_schedule_procedure(row: dict[str, Any], tz: str) -> dict[str, Any]:
    return {"foreign_id": str(row["FeeNum"]), "fee_schedule_foreign_id": str(row["FeeSched"]),
            "code": row.get("ProcCode") or "", "procedure_code_id": str(row["CodeNum"]), "fee": _money(row["Amount"])}


def insurance_plan(row: dict[str, Any], tz: str) -> dict[str, Any]:
    return {
        "foreign_id": str(row["PlanNum"]), "name": row.get("CarrierName") or row["GroupName"] or "",
        "payer_id": row.get("ElectID") or "", "group_num": row["GroupNum"] or "",
        # Open Dental's group name is usually the employer's (its employer table is not read).
        "employer_name": row["GroupName"] or "", "address": row.get("CarrierAddress") or "",
        "address2": row.get("CarrierAddress2") or "", "city": row.get("CarrierCity") or "",
        "state": row.get("CarrierState") or "", "zip_code": row.get("CarrierZip") or "",
        "fee_schedule_foreign_id": _ref(row["FeeSched"]),
    }


# patplan.Relationship
RELATIONSHIPS = {0: "self", 1: "spouse", 2: "child", 3: "employee", 4: "handicap_dep", 5: "signif_other",
                 6: "injured_plaintiff", 7: "life_partner", 8: "dependent"}


def insurance_coverage(row: dict[str, Any], tz: str) -> dict[str, Any]:
    """A patplan (the patient's place on a subscription) with its inssub (the subscription to a plan)."""
    return {
        "foreign_id": str(row["PatPlanNum"]), "patient_foreign_id": _ref(row["PatNum"]),
        "plan_foreign_id": _ref(row.get("PlanNum")), "subscriber_foreign_id": _ref(row.get("Subscriber")),
        "subscriber_num": row.get("SubscriberID") or "",
        "subscription_relation": RELATIONSHIPS.get(row["Relationship"], "other"),
        "priority": min(9, max(1, int(row["Ordinal"] or 1))), "effective_date": _date(row.get("DateEffective")),
        "expiration_date": _date(row.get("DateTerm")), "active": not row["IsPending"], "insurance_type": "dental",
    }


# claim.ClaimStatus: U unsent, H on hold, W waiting to send, P probably sent, S sent, R received.
CLAIM_STATUSES = {"P": "sent", "S": "sent", "R": "received"}


def claim(row: dict[str, Any], tz: str) -> dict[str, Any]:
    status = CLAIM_STATUSES.get(row["ClaimStatus"], "draft")
    return {
        "foreign_id": str(row["ClaimNum"]), "patient_foreign_id": _ref(row["PatNum"]),
        "provider_foreign_id": _ref(row["ProvTreat"]), "primary_insurance_plan_foreign_id": _ref(row["PlanNum"]),
        "secondary_insurance_plan_foreign_id": _ref(row["PlanNum2"]), "date_of_service": _date(row["DateService"]),
        "note": row["ClaimNote"] or "", "status": status,
        "sent_at": _midnight(row["DateSent"], tz) if status != "draft" else None,
        "received_at": _midnight(row["DateReceived"], tz) if status == "received" else None,
        # A claimproc without a procedure is a payment "by total": it pays no charge of its own.
        "charges": [{
            "charge_foreign_id": str(line["ProcNum"]), "amount_billed_to_insurance": _money(line["FeeBilled"]),
            # No override: the plan allows what it does not write off.
            "allowed_amount": _money(line["AllowedOverride"] if line["AllowedOverride"] >= 0
                                     else (line["FeeBilled"] or 0) - (line["WriteOff"] or 0)),
            "estimated_insurance_payment": _money(line["InsPayEst"]), "insurance_payment": _money(line["InsPayAmt"]),
            "write_off": _money(line["WriteOff"]),
        } for line in row.get("children", []) if line["ProcNum"]],
    }


def definition(row: dict[str, Any], tz: str) -> dict[str, Any]:
    return {"foreign_id": str(row["DefNum"]), "name": row["ItemName"] or "", "active": not row["IsHidden"]}


def adjustment_type(row: dict[str, Any], tz: str) -> dict[str, Any]:
    # ItemValue "+" adds to the patient's balance (a debit), "-" takes from it (a credit).
    return {**definition(row, tz), "action": {"+": "debit", "-": "credit"}.get(row["ItemValue"], "unknown")}


def adjustment(row: dict[str, Any], tz: str) -> dict[str, Any]:
    return {
        "foreign_id": str(row["AdjNum"]), "patient_foreign_id": _ref(row["PatNum"]),
        "provider_foreign_id": _ref(row["ProvNum"]), "charge_foreign_id": _ref(row["ProcNum"]),
        "adjustment_type_foreign_id": _ref(row["AdjType"]), "adjusted_at": _date(row["AdjDate"]),
        "amount": _money(row["AdjAmt"]), "description": (row["AdjNote"] or "")[:500],
    }


def payment(row: dict[str, Any], tz: str) -> dict[str, Any]:
    return {
        "foreign_id": str(row["PayNum"]), "patient_foreign_id": _ref(row["PatNum"]), "paid_at": _date(row["PayDate"]),
        "amount": _money(row["PayAmt"]), "description": row["PayNote"] or "",
        "payment_type_foreign_id": _ref(row["PayType"]),
    }


# treatplan.TPStatus: 1 the active plan (what is proposed now), 0 a saved copy (presented, usually signed),
# 2 inactive. Open Dental records no acceptance or rejection on the plan itself.
TP_STATUSES = {0: "accepted", 1: "proposed", 2: "not_applicable"}


def treatment_plan(row: dict[str, Any], tz: str) -> dict[str, Any]:
    lines = sorted(row.get("children", []), key=lambda line: (line["Priority"], line["TreatPlanAttachNum"]))
    return {"foreign_id": str(row["TreatPlanNum"]), "patient_foreign_id": _ref(row["PatNum"]),
            "name": row["Heading"] or "", "status": TP_STATUSES.get(row["TPStatus"], "not_applicable"),
            "procedure_foreign_ids": [str(line["ProcNum"]) for line in lines if line["ProcNum"]][:200]}


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


def clinical_note(row: dict[str, Any], tz: str) -> dict[str, Any] | None:
    content = (row["Note"] or "").strip()
    if not content:
        return None  # the protocol wants a note's text
    entered = row["EntryDateTime"]
    return {"foreign_id": str(row["ProcNoteNum"]), "patient_foreign_id": _ref(row["PatNum"]),
            "procedure_foreign_id": _ref(row["ProcNum"]), "content": content[:20000],
            "entered_at": iso(local_to_utc(entered, tz)) if entered and entered > "1800" else None,
            "completed": row.get("ProcStatus") == PROC_COMPLETE, "signed": bool(row["Signature"])}


def patient_document(row: dict[str, Any], tz: str) -> dict[str, Any]:
    filename = (row["FileName"] or row["Description"] or f"Document {row['DocNum']}")[:255]
    return {"foreign_id": str(row["DocNum"]), "patient_foreign_id": str(row["PatNum"]),
            "document_type_foreign_id": _ref(row["DocCategory"]), "filename": filename,
            "content_type": mimetypes.guess_type(filename)[0] or "application/octet-stream"}


def staff_member(row: dict[str, Any], tz: str) -> dict[str, Any]:
    email = row["EmailWork"] or ""
    return {"foreign_id": str(row["EmployeeNum"]), "first_name": row["FName"] or "", "last_name": row["LName"] or "",
            # The server refuses a malformed address (and with it the batch): send none rather than a typo.
            "email": email if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email) else "",
            "inactive": bool(row["IsHidden"])}


def working_hour(row: dict[str, Any], tz: str) -> dict[str, Any] | None:
    """A provider's schedule row: one date (Open Dental keeps no weekly pattern), in its first operatory."""
    start, stop = str(row["StartTime"]), str(row["StopTime"])
    if not _date(row["SchedDate"]) or stop <= start:
        return None
    # The server needs the provider at the location, and providers go only to their own clinic (0: every clinic).
    if row["ProvClinicNum"] and row["ProvClinicNum"] != row["ClinicNum"]:
        return None
    ops = [line["OperatoryNum"] for line in row.get("children", []) if line["OperatoryNum"]]
    return {"foreign_id": str(row["ScheduleNum"]), "provider_foreign_id": str(row["ProvNum"]),
            "operatory_foreign_id": _ref(ops[0]) if ops else None, "begin_time": start, "end_time": stop,
            "days": [], "specific_date": _date(row["SchedDate"]), "active": True}


MAPPERS: dict[str, Callable[[dict[str, Any], str], dict[str, Any] | None]] = {
    "providers": provider, "operatories": operatory, "appointment_types": appointment_type,
    "patients": patient, "appointments": appointment, "procedures": procedure, "charges": charge,
    "fee_schedules": fee_schedule, "fee_schedule_procedures": fee_schedule_procedure,
    "insurance_plans": insurance_plan, "insurance_coverages": insurance_coverage, "claims": claim,
    "adjustment_types": adjustment_type, "adjustments": adjustment, "payment_types": definition,
    "payments": payment, "treatment_plans": treatment_plan, "recall_types": recall_type,
    "patient_recalls": patient_recall, "clinical_notes": clinical_note, "document_types": definition,
    "patient_documents": patient_document, "patient_alerts": patient_alert, "staff": staff_member,
    "working_hours": working_hour,
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
