"""One agent cycle: activate (once), report clinics, push changed rows, heartbeat, run write jobs."""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shutil
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from syncs.agent import AGENT_VERSION
from syncs.agent.client import ApiError, ProtocolClient
from syncs.agent.db import STAMP_FORMAT, Database
from syncs.agent.records import (
    DEFAULT_TZ,
    KINDS,
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


class Agent:
    def __init__(self, *, client: ProtocolClient, database_url: str, product_key: str, state: State,
                 state_path: Path) -> None:
        self.client = client
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
            rows, mark = read_changes(db, kind, Mark.from_json(self.state.marks.get(kind.table)))
            if not rows:
                continue
            sent = 0
            for location, records in group_records(kind, rows, tz_by_location).items():
                sent += self.send(location, kind.name, records)
            # Only after every batch went through: a failure resends this kind next cycle (upserts are idempotent).
            self.state.marks[kind.table] = mark.to_json()
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
        # Inserted before a crash but never reported: report, never insert twice.
        for job_id, apt_num in list(self.state.pending_jobs.items()):
            self.report(job_id, {"status": "complete", "foreign_id": apt_num})
        for job in self.client.write_jobs():
            job_id = str(job["id"])
            insert = WRITERS.get(job.get("kind"))
            if insert is None:
                self.report(job_id, {"status": "failed", "error": f"This agent cannot run {job.get('kind')!r} jobs."})
                continue
            try:
                apt_num = insert(db, job, tz_by_location)
                db.commit()
            except (JobRejected, *db.errors) as error:
                db.rollback()
                log.warning("Write job %s failed: %s", job_id, error)
                self.report(job_id, {"status": "failed", "error": str(error)[:2000]})
                continue
            self.state.pending_jobs[job_id] = str(apt_num)
            self.state.last_write_at = iso(datetime.now(UTC))
            self.save()
            log.info("Write job %s (%s): inserted row %s", job_id, job.get("kind"), apt_num)
            self.report(job_id, {"status": "complete", "foreign_id": str(apt_num)})

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


def insert_appointment(db: Database, job: dict[str, Any], tz_by_location: dict[str, str]) -> int:
    """INSERT the job's appointment (as the practice's front desk would); returns the new AptNum."""
    payload = job.get("payload") or {}
    location = str(job.get("location_foreign_id") or "0")
    tz = ZoneInfo(tz_by_location.get(location, DEFAULT_TZ))
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


def insert_payment(db: Database, job: dict[str, Any], tz_by_location: dict[str, str]) -> int:
    """INSERT a payment the API accepted; returns the new PayNum."""
    payload = job.get("payload") or {}
    location = str(job.get("location_foreign_id") or "0")
    patient = _one(db, "SELECT PatNum FROM patient WHERE PatNum = ?", payload.get("patient_foreign_id"), "Patient")
    try:
        amount = float(payload.get("amount") or 0)
    except ValueError:
        raise JobRejected(f"amount {payload.get('amount')!r} is not a number") from None
    pay_type = int(payload["type_foreign_id"]) if str(payload.get("type_foreign_id") or "").isdigit() else 0
    return db.execute(
        "INSERT INTO payment (PayType, PayDate, PayAmt, PatNum, ClinicNum, PayNote, DateTStamp) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (pay_type, str(payload.get("date") or datetime.now().date().isoformat()), amount, patient["PatNum"],
         int(location) if location.isdigit() else 0, payload.get("note") or "", _now_stamp()),
    )


def insert_popup(db: Database, job: dict[str, Any], tz_by_location: dict[str, str]) -> int:
    """INSERT a patient alert (Open Dental's popup); returns the new PopupNum."""
    payload = job.get("payload") or {}
    patient = _one(db, "SELECT PatNum FROM patient WHERE PatNum = ?", payload.get("patient_foreign_id"), "Patient")
    return db.execute("INSERT INTO popup (PatNum, Description, IsArchived, DateTStamp) VALUES (?, ?, 0, ?)",
                      (patient["PatNum"], payload.get("note") or "", _now_stamp()))


# Write jobs this agent applies; any other kind is reported failed, so the developer sees it was not written.
WRITERS = {"appointment_insertion": insert_appointment, "payment_insertion": insert_payment,
           "patient_alert_insertion": insert_popup}
