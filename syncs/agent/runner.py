"""One agent cycle: activate (once), report clinics, push changed rows, heartbeat, run write jobs."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from syncs.agent import AGENT_VERSION
from syncs.agent.client import ApiError, NetworkError, ProtocolClient, ServerUnavailable
from syncs.agent.db import STAMP_FORMAT, Database
from syncs.agent.records import (
    DEF_ADJ_TYPES,
    DEF_IMAGE_CATS,
    DEFAULT_TZ,
    KINDS,
    SCHED_PROVIDER,
    Mark,
    group_records,
    iso,
    minutes,
    read_changes,
    read_locations,
)
from syncs.agent.state import State

log = logging.getLogger("syncs.agent")
SCHEDULED, COMPLETE = 1, 2


class Fatal(Exception):
    """Retrying cannot help (bad or used product key, revoked token): stop and tell the operator."""


class JobRejected(Exception):
    """A write job the practice database cannot take; reported to the server as failed."""


@dataclass
class WriteContext:
    """What a writer may need beyond the practice database: the clinics' time zones, and for a document the way to
    its bytes (`fetch_file(job_id)`) and the practice's images folder (Open Dental's "A to Z folder")."""

    tz_by_location: dict[str, str]
    fetch_file: Callable[[str], bytes]
    documents_folder: Path


def default_documents_folder(state_path: Path) -> Path:
    return state_path.resolve().parent / "OpenDentImages"


class Agent:
    def __init__(self, *, client: ProtocolClient, database_url: str, product_key: str, state: State,
                 state_path: Path, documents_folder: Path | None = None) -> None:
        self.client = client
        self.documents_folder = documents_folder or default_documents_folder(state_path)
        self.database_url = database_url
        self.product_key = product_key
        self.state = state
        self.state_path = state_path
        self.client.token = state.agent_token or None
        self._last_heartbeat: float | None = None

    def save(self) -> None:
        self.state.save(self.state_path)

    def cycle(self) -> None:
        # A connection per cycle: a restarted database server heals by itself, and MySQL's
        # REPEATABLE READ never pins us to an old snapshot.
        with Database(self.database_url) as db:
            try:
                self.activate()
                locations = read_locations(db)
                self.report_locations(locations)
                tz_by_location = {location["foreign_id"]: location["tz"] for location in locations}
                self.push_records(db, tz_by_location)
                self.heartbeat()
                self.run_write_jobs(db, tz_by_location)
            except ApiError as error:
                if error.status == 401:
                    raise Fatal(f"The server refused the agent token ({error.description}). If the Synchronizer "
                                "was reinstalled elsewhere, run this one with the new reinstall key.") from None
                raise

    # --- activation and locations --------------------------------------------------------------------

    def activate(self) -> None:
        if self.state.agent_token:
            return
        host = {"hostname": socket.gethostname(), "os": f"{platform.system()} {platform.release()}".strip(),
                "agent_version": AGENT_VERSION}
        try:
            data = self.client.activate(self.product_key, host)
        except ApiError as error:
            if error.status in (401, 409):
                raise Fatal(f"Activation refused: {error.description}") from None
            raise
        self.state.sync_id = str(data["sync_id"])
        self.state.agent_token = data["agent_token"]
        self.state.batch_limit = int(data.get("batch_limit") or 1000)
        self.state.heartbeat_interval_s = int(data.get("heartbeat_interval_s") or 60)
        self.client.token = self.state.agent_token
        self.save()  # the token is shown once: keep it before anything else can fail
        log.info("Activated sync %s", self.state.sync_id)

    def report_locations(self, locations: list[dict[str, Any]]) -> None:
        fingerprint = hashlib.sha256(json.dumps(locations, sort_keys=True).encode()).hexdigest()
        if fingerprint == self.state.locations_fingerprint:
            return
        self.client.locations(locations)
        self.state.locations_fingerprint = fingerprint
        self.save()
        log.info("Reported %d location(s)", len(locations))

    # --- records ---------------------------------------------------------------------------------------

    def push_records(self, db: Database, tz_by_location: dict[str, str]) -> None:
        self.reread_selected_locations(db, tz_by_location)
        for kind in KINDS:
            rows, mark = read_changes(db, kind, Mark.from_json(self.state.marks.get(kind.mark_key)))
            if not rows:
                continue
            sent = 0
            for location, records in group_records(kind, rows, tz_by_location).items():
                sent += self.send(location, kind.name, records)
            # Only after every batch went through: a failure resends this kind next cycle (upserts are idempotent).
            self.state.marks[kind.mark_key] = mark.to_json()
            self.save()
            log.info("Sent %d %s record(s) from %d changed row(s)", sent, kind.name, len(rows))
        self.state.last_read_at = iso(datetime.now(UTC))
        self.save()

    def reread_selected_locations(self, db: Database, tz_by_location: dict[str, str]) -> None:
        """The server drops records of locations nobody selected yet; once it stores them, send their history."""
        for location in list(self.state.unselected_locations):
            answer = self.client.records(location, KINDS[0].name, []) or {}
            if not answer.get("stored"):
                continue
            self.state.unselected_locations.remove(location)
            for kind in KINDS:
                rows, _ = read_changes(db, kind, Mark.from_json(None))
                records = group_records(kind, rows, tz_by_location).get(location, [])
                if records:
                    self.send(location, kind.name, records)
            self.save()
            log.info("Location %s was selected: sent its history", location)

    def send(self, location: str, kind: str, records: list[dict[str, Any]]) -> int:
        size = max(1, self.state.batch_limit)
        start = 0
        while start < len(records):
            try:
                answer = self.client.records(location, kind, records[start:start + size]) or {}
                if answer.get("stored") is False and location not in self.state.unselected_locations:
                    self.state.unselected_locations.append(location)
            except ApiError as error:
                if error.status == 413 and size > 1:
                    size = max(1, size // 2)  # the server's limit shrank since activation: adapt and keep going
                    self.state.batch_limit = size
                    continue
                raise
            start += size
        return len(records)

    # --- heartbeat -------------------------------------------------------------------------------------

    def heartbeat(self) -> None:
        # Cycles run every 15 s so changes travel fast; heartbeats go at the server's pace (the hot path).
        now = time.monotonic()
        if self._last_heartbeat is not None and now - self._last_heartbeat < self.state.heartbeat_interval_s:
            return
        self.client.heartbeat({
            "last_read_at": self.state.last_read_at, "last_write_at": self.state.last_write_at,
            "agent_version": AGENT_VERSION,
            "host": {"free_disk_mb": shutil.disk_usage(self.state_path.resolve().parent).free // 2**20,
                     "pending_reboot": False},
        })
        self._last_heartbeat = now

    # --- write jobs ------------------------------------------------------------------------------------

    def run_write_jobs(self, db: Database, tz_by_location: dict[str, str]) -> None:
        context = WriteContext(tz_by_location, self.client.write_job_file, self.documents_folder)
        # Inserted before a crash but never reported: report, never insert twice.
        for job_id, row_id in list(self.state.pending_jobs.items()):
            self.report(job_id, {"status": "complete", "foreign_id": row_id})
        for job in self.client.write_jobs():
            job_id = str(job["id"])
            insert = WRITERS.get(job.get("kind"))
            if insert is None:
                self.report(job_id, {"status": "failed", "error": f"This agent cannot run {job.get('kind')!r} jobs."})
                continue
            try:
                row_id = insert(db, job, context)
                db.commit()
            except (JobRejected, *db.errors) as error:
                db.rollback()
                log.warning("Write job %s failed: %s", job_id, error)
                self.report(job_id, {"status": "failed", "error": str(error)[:2000]})
                continue
            self.state.pending_jobs[job_id] = str(row_id)
            self.state.last_write_at = iso(datetime.now(UTC))
            self.save()
            log.info("Write job %s (%s): wrote row %s", job_id, job.get("kind"), row_id)
            self.report(job_id, {"status": "complete", "foreign_id": str(row_id)})

    def report(self, job_id: str, result: dict[str, Any]) -> None:
        try:
            self.client.write_job_result(job_id, result)
        except ApiError as error:
            if error.status not in (404, 409):  # 409: already reported, 404: gone; both mean done
                raise
        if self.state.pending_jobs.pop(job_id, None) is not None:
            self.save()


def _parse_time(value: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))  # 3.11+ reads a trailing Z too
    except ValueError:
        raise JobRejected(f"{name} is not an ISO 8601 time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _one(db: Database, sql: str, value: Any, what: str) -> dict[str, Any]:
    try:
        key = int(str(value))
    except ValueError:
        raise JobRejected(f"{what} {value!r} does not exist in Open Dental") from None
    rows = db.query(sql, (key,))
    if not rows:
        raise JobRejected(f"{what} {key} does not exist in Open Dental")
    return rows[0]


def insert_appointment(db: Database, job: dict[str, Any], context: WriteContext) -> int:
    """INSERT the job's appointment (as the practice's front desk would); returns the new AptNum."""
    payload = job.get("payload") or {}
    location = str(job.get("location_foreign_id") or "0")
    tz = ZoneInfo(context.tz_by_location.get(location, DEFAULT_TZ))
    if not payload.get("patient_foreign_id"):
        raise JobRejected("The job has no patient_foreign_id")
    if not payload.get("start_time"):
        raise JobRejected("The job has no start_time")
    patient = _one(db, "SELECT PatNum, PriProv FROM patient WHERE PatNum = ?", payload["patient_foreign_id"], "Patient")
    provider = (_one(db, "SELECT ProvNum FROM provider WHERE ProvNum = ?", payload["provider_foreign_id"], "Provider")
                ["ProvNum"] if payload.get("provider_foreign_id") else patient["PriProv"])
    op = (_one(db, "SELECT OperatoryNum FROM operatory WHERE OperatoryNum = ?", payload["operatory_foreign_id"],
               "Operatory")["OperatoryNum"] if payload.get("operatory_foreign_id") else 0)
    apt_type = (_one(db, "SELECT AppointmentTypeNum, Pattern FROM appointmenttype WHERE AppointmentTypeNum = ?",
                     payload["appointment_type_foreign_id"], "Appointment type")
                if payload.get("appointment_type_foreign_id") else {"AppointmentTypeNum": 0, "Pattern": ""})
    start = _parse_time(payload["start_time"], "start_time")
    end = (_parse_time(payload["end_time"], "end_time") if payload.get("end_time")
           else start + timedelta(minutes=minutes(apt_type["Pattern"]) or 30))
    slots = round((end - start).total_seconds() / 60 / 5)
    if slots <= 0:
        raise JobRejected("end_time must be after start_time")
    # Keep the type's provider/assistant pattern when the length agrees; otherwise all provider time.
    pattern = apt_type["Pattern"] if len(apt_type["Pattern"]) == slots else "X" * slots
    local_start = start.astimezone(tz).replace(tzinfo=None)
    if op:
        _check_operatory_free(db, op, local_start, local_start + timedelta(minutes=5 * slots))
    return db.execute(
        "INSERT INTO appointment (PatNum, AptStatus, Pattern, AptDateTime, Op, ProvNum, AppointmentTypeNum, Note,"
        " ClinicNum, Confirmed, DateTStamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (patient["PatNum"], SCHEDULED, pattern, local_start.strftime(STAMP_FORMAT), op, provider,
         apt_type["AppointmentTypeNum"], payload.get("note") or "", int(location) if location.isdigit() else 0, 0,
         datetime.now().strftime(STAMP_FORMAT)),  # DateTStamp: the server's local time, as Open Dental writes it
    )


def _check_operatory_free(db: Database, op: int, start: datetime, end: datetime) -> None:
    """Open Dental refuses overlapping appointments in one operatory; so do we."""
    day = start.replace(hour=0, minute=0, second=0)
    rows = db.query("SELECT AptNum, AptDateTime, Pattern FROM appointment WHERE Op = ? AND AptStatus IN (?, ?)"
                    " AND AptDateTime >= ? AND AptDateTime < ?",
                    (op, SCHEDULED, COMPLETE, (day - timedelta(days=1)).strftime(STAMP_FORMAT),
                     end.strftime(STAMP_FORMAT)))
    for row in rows:
        other_start = datetime.strptime(row["AptDateTime"], STAMP_FORMAT)
        if other_start < end and other_start + timedelta(minutes=minutes(row["Pattern"])) > start:
            raise JobRejected(f"Operatory {op} is booked at that time (appointment {row['AptNum']})")


def _now_stamp() -> str:
    return datetime.now().strftime(STAMP_FORMAT)  # the server's local time, as Open Dental writes it


def _clinic(job: dict[str, Any]) -> int:
    location = str(job.get("location_foreign_id") or "0")
    return int(location) if location.isdigit() else 0


def _amount(payload: dict[str, Any]) -> float:
    try:
        return float(payload.get("amount") or 0)
    except ValueError:
        raise JobRejected(f"amount {payload.get('amount')!r} is not a number") from None


def insert_payment(db: Database, job: dict[str, Any], context: WriteContext) -> int:
    """INSERT a payment the API accepted; returns the new PayNum."""
    payload = job.get("payload") or {}
    patient = _one(db, "SELECT PatNum FROM patient WHERE PatNum = ?", payload.get("patient_foreign_id"), "Patient")
    amount = _amount(payload)
    pay_type = int(payload["type_foreign_id"]) if str(payload.get("type_foreign_id") or "").isdigit() else 0
    return db.execute(
        "INSERT INTO payment (PayType, PayDate, PayAmt, PatNum, ClinicNum, PayNote, DateTStamp) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (pay_type, str(payload.get("date") or datetime.now().date().isoformat()), amount, patient["PatNum"],
         _clinic(job), payload.get("note") or "", _now_stamp()),
    )


def insert_adjustment(db: Database, job: dict[str, Any], context: WriteContext) -> int:
    """INSERT an adjustment the API accepted; returns the new AdjNum."""
    payload = job.get("payload") or {}
    patient = _one(db, "SELECT PatNum, PriProv FROM patient WHERE PatNum = ?", payload.get("patient_foreign_id"), "Patient")
    if not payload.get("type_foreign_id"):
        raise JobRejected("Open Dental files every adjustment under a type: create it with an adjustment_type_id")
    adj_type = _one(db, f"SELECT DefNum FROM definition WHERE DefNum = ? AND Category = {DEF_ADJ_TYPES}",
                    payload["type_foreign_id"], "Adjustment type")
    provider = (_one(db, "SELECT ProvNum FROM provider WHERE ProvNum = ?", payload["provider_foreign_id"], "Provider")
                ["ProvNum"] if payload.get("provider_foreign_id") else patient["PriProv"])
    return db.execute(
        "INSERT INTO adjustment (AdjDate, AdjAmt, PatNum, AdjType, ProvNum, AdjNote, ProcNum, ClinicNum, DateTStamp)"
        " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
        (str(payload.get("date") or datetime.now().date().isoformat()), _amount(payload), patient["PatNum"],
         adj_type["DefNum"], provider, payload.get("note") or "", _clinic(job), _now_stamp()),
    )


def insert_popup(db: Database, job: dict[str, Any], context: WriteContext) -> int:
    """INSERT a patient alert (Open Dental's popup); returns the new PopupNum."""
    payload = job.get("payload") or {}
    patient = _one(db, "SELECT PatNum FROM patient WHERE PatNum = ?", payload.get("patient_foreign_id"), "Patient")
    return db.execute("INSERT INTO popup (PatNum, Description, IsArchived, DateTStamp) VALUES (?, ?, 0, ?)",
                      (patient["PatNum"], payload.get("note") or "", _now_stamp()))


def _written(payload: dict[str, Any], what: str) -> Any:
    """The foreign id of a record an update or deletion names: it exists in Open Dental only once inserted."""
    if not payload.get("foreign_id"):
        raise JobRejected(f"The {what} has no foreign_id: its insertion was never written to Open Dental")
    return payload["foreign_id"]


def update_popup(db: Database, job: dict[str, Any], context: WriteContext) -> int:
    """Archive (disable) or restore a patient alert; returns its PopupNum."""
    payload = job.get("payload") or {}
    popup = _one(db, "SELECT PopupNum, PatNum FROM popup WHERE PopupNum = ?", _written(payload, "patient alert"),
                 "Patient alert")
    if payload.get("patient_foreign_id") and str(popup["PatNum"]) != str(payload["patient_foreign_id"]):
        raise JobRejected(f"Patient alert {popup['PopupNum']} belongs to another patient in Open Dental")
    db.execute("UPDATE popup SET IsArchived = ?, DateTStamp = ? WHERE PopupNum = ?",
               (1 if payload.get("disabled") else 0, _now_stamp(), popup["PopupNum"]))
    return popup["PopupNum"]


def insert_document(db: Database, job: dict[str, Any], context: WriteContext) -> int:
    """Download the document's file into the patient's folder under the practice's images folder, then INSERT its
    row (Open Dental's Imaging module) naming that file; returns the new DocNum. No file, no row."""
    payload = job.get("payload") or {}
    patient = _one(db, "SELECT PatNum, LName, FName FROM patient WHERE PatNum = ?", payload.get("patient_foreign_id"),
                   "Patient")
    if payload.get("document_type_foreign_id"):
        category = _one(db, f"SELECT DefNum FROM definition WHERE DefNum = ? AND Category = {DEF_IMAGE_CATS}",
                        payload["document_type_foreign_id"], "Document type")["DefNum"]
    else:  # Open Dental files every document in a category: the first the practice shows
        first = db.query(f"SELECT DefNum FROM definition WHERE Category = {DEF_IMAGE_CATS} AND IsHidden = 0"
                         " ORDER BY ItemOrder, DefNum LIMIT 1")
        if not first:
            raise JobRejected("Open Dental has no document category to file the document in")
        category = first[0]["DefNum"]
    if not str(payload.get("filename") or "").strip():
        raise JobRejected("The job has no filename")
    try:
        content = context.fetch_file(str(job["id"]))
    except ServerUnavailable:
        raise  # an announced outage: the loop waits and the job is still pending next cycle
    except (ApiError, NetworkError) as error:
        raise JobRejected(f"The document's file could not be downloaded from the server ({error})") from None
    path = _store_document(patient_folder(context.documents_folder, patient), str(payload["filename"]), content)
    photo = str(payload.get("content_type") or "").startswith("image/")
    try:
        return db.execute(
            "INSERT INTO document (Description, DateCreated, DocCategory, PatNum, FileName, ImgType, DateTStamp)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (str(payload["filename"])[:255], _now_stamp(), category, patient["PatNum"], path.name, 2 if photo else 0,
             _now_stamp()),
        )
    except Exception:
        path.unlink(missing_ok=True)  # no row: no file nobody can find
        raise


def patient_folder(root: Path, patient: dict[str, Any]) -> Path:
    """Open Dental's A to Z layout: <root>/<first letter of the last name>/<LastFirstPatNum>, letters only."""
    name = "".join(c for c in f"{patient['LName']}{patient['FName']}" if c.isalpha())
    return root / (name[:1].upper() or "_") / f"{name}{patient['PatNum']}"


UNSAFE_IN_FILENAMES = set('<>:"/\\|?*')


def _store_document(folder: Path, filename: str, content: bytes) -> Path:
    """Write the bytes under a safe, unused name in `folder` (a name already there gets a number, never replaced)."""
    name = "".join("_" if c in UNSAFE_IN_FILENAMES or ord(c) < 32 else c for c in filename.split("/")[-1].split("\\")[-1])
    name = name.strip(" .")[:200] or "document"
    stem, dot, extension = name.rpartition(".") if "." in name else (name, "", "")
    folder.mkdir(parents=True, exist_ok=True)
    path, n = folder / name, 1
    while path.exists():
        n += 1
        path = folder / f"{stem}_{n}{dot}{extension}"
    tmp = folder / f".{path.name}.part"
    tmp.write_bytes(content)
    os.replace(tmp, path)  # all or nothing: the practice never opens half a file
    return path


def _clock(value: Any, name: str) -> str:
    try:
        return time_of_day.fromisoformat(str(value)).strftime("%H:%M:%S")
    except ValueError:
        raise JobRejected(f"{name} is not a time of day: {value!r}") from None


def _schedule_of(db: Database, payload: dict[str, Any]) -> tuple[str, str, str, int, int | None]:
    """(SchedDate, StartTime, StopTime, ProvNum, OperatoryNum) of a working hour, or why Open Dental cannot hold it."""
    if payload.get("active") is False:
        raise JobRejected("Open Dental has no inactive schedules: delete the working hour instead")
    if not payload.get("specific_date"):
        raise JobRejected("Open Dental keeps a provider's schedule per date: a working hour that repeats on days "
                          "needs a specific_date")
    try:
        day = date.fromisoformat(str(payload["specific_date"])).isoformat()
    except ValueError:
        raise JobRejected(f"specific_date is not a date: {payload['specific_date']!r}") from None
    start, stop = _clock(payload.get("begin_time"), "begin_time"), _clock(payload.get("end_time"), "end_time")
    if stop <= start:
        raise JobRejected("end_time must be after begin_time")
    provider = _one(db, "SELECT ProvNum FROM provider WHERE ProvNum = ?", payload.get("provider_foreign_id"), "Provider")
    op = (_one(db, "SELECT OperatoryNum FROM operatory WHERE OperatoryNum = ?", payload["operatory_foreign_id"],
               "Operatory")["OperatoryNum"] if payload.get("operatory_foreign_id") else None)
    return day, start, stop, provider["ProvNum"], op


def _set_schedule_op(db: Database, schedule_num: int, op: int | None) -> None:
    db.execute("DELETE FROM scheduleop WHERE ScheduleNum = ?", (schedule_num,))
    if op:
        db.execute("INSERT INTO scheduleop (ScheduleNum, OperatoryNum, DateTStamp) VALUES (?, ?, ?)",
                   (schedule_num, op, _now_stamp()))


def _provider_schedule(db: Database, payload: dict[str, Any]) -> int:
    return _one(db, f"SELECT ScheduleNum FROM schedule WHERE ScheduleNum = ? AND SchedType = {SCHED_PROVIDER}",
                _written(payload, "working hour"), "Provider schedule")["ScheduleNum"]


def insert_schedule(db: Database, job: dict[str, Any], context: WriteContext) -> int:
    """INSERT a provider's schedule row for the working hour's date; returns the new ScheduleNum."""
    day, start, stop, provider, op = _schedule_of(db, job.get("payload") or {})
    schedule_num = db.execute(
        "INSERT INTO schedule (SchedDate, StartTime, StopTime, SchedType, ProvNum, BlockoutType, Note, Status,"
        " EmployeeNum, ClinicNum, DateTStamp) VALUES (?, ?, ?, ?, ?, 0, '', 0, 0, ?, ?)",
        (day, start, stop, SCHED_PROVIDER, provider, _clinic(job), _now_stamp()))
    _set_schedule_op(db, schedule_num, op)
    return schedule_num


def update_schedule(db: Database, job: dict[str, Any], context: WriteContext) -> int:
    payload = job.get("payload") or {}
    schedule_num = _provider_schedule(db, payload)
    day, start, stop, provider, op = _schedule_of(db, payload)
    db.execute("UPDATE schedule SET SchedDate = ?, StartTime = ?, StopTime = ?, ProvNum = ?, DateTStamp = ?"
               " WHERE ScheduleNum = ?", (day, start, stop, provider, _now_stamp(), schedule_num))
    _set_schedule_op(db, schedule_num, op)
    return schedule_num


def delete_schedule(db: Database, job: dict[str, Any], context: WriteContext) -> int:
    schedule_num = _provider_schedule(db, job.get("payload") or {})
    db.execute("DELETE FROM scheduleop WHERE ScheduleNum = ?", (schedule_num,))
    db.execute("DELETE FROM schedule WHERE ScheduleNum = ?", (schedule_num,))
    return schedule_num


# Write jobs this agent applies, each returning the row's primary key (the record's foreign id); any other kind is
# reported failed, so the developer sees it was not written.
WRITERS = {"appointment_insertion": insert_appointment, "payment_insertion": insert_payment,
           "adjustment_insertion": insert_adjustment, "patient_alert_insertion": insert_popup,
           "patient_alert_update": update_popup, "patient_document_insertion": insert_document,
           "working_hour_insertion": insert_schedule, "working_hour_update": update_schedule,
           "working_hour_deletion": delete_schedule}
