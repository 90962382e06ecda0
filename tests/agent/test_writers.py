"""The write jobs the reference agent applies to Open Dental beyond appointments and payments, on SQLite and MariaDB."""

from datetime import datetime
from pathlib import Path

import pytest

from syncs.agent import practice_db
from syncs.agent.client import ApiError
from syncs.agent.db import Database
from syncs.agent.runner import WRITERS, JobRejected, WriteContext

NOW = datetime(2026, 3, 10, 12, 0, 0)
TZ = {"1": "America/Chicago", "2": "America/Chicago"}


@pytest.fixture
def db(database_url):
    practice_db.generate(database_url, seed=5, scale=0.1, now=NOW)
    with Database(database_url) as db:
        yield db


def no_file(job_id: str) -> bytes:
    raise ApiError(404, f"Write job {job_id} has no document file for this sync.")


def run(db: Database, kind: str, payload: dict, location: str = "1", context: WriteContext | None = None,
        job_id: str = "job") -> int:
    job = {"id": job_id, "kind": kind, "location_foreign_id": location, "payload": payload}
    row_id = WRITERS[kind](db, job, context or WriteContext(TZ, no_file, Path("/nonexistent")))
    db.commit()
    return row_id


@pytest.fixture
def practice_files(tmp_path) -> tuple[dict[str, bytes], WriteContext]:
    """The server's files by job id, and a context that downloads them into a practice images folder."""
    served: dict[str, bytes] = {}
    return served, WriteContext(TZ, lambda job_id: served[job_id] if job_id in served else no_file(job_id),
                                tmp_path / "OpenDentImages")


def test_an_adjustment_is_written_under_its_type_and_an_unknown_type_is_refused(db):
    adj_num = run(db, "adjustment_insertion", {"patient_foreign_id": "3", "provider_foreign_id": None,
                                               "type_foreign_id": "3", "amount": "15.00", "date": "2026-03-11",
                                               "note": "Late fee"})
    [row] = db.query("SELECT AdjDate, AdjAmt, PatNum, AdjType, AdjNote, ClinicNum FROM adjustment WHERE AdjNum = ?",
                     (adj_num,))
    assert row == {"AdjDate": "2026-03-11", "AdjAmt": 15.0, "PatNum": 3, "AdjType": 3, "AdjNote": "Late fee",
                   "ClinicNum": 1}
    with pytest.raises(JobRejected, match="Adjustment type 70 does not exist"):  # 70 is a payment type
        run(db, "adjustment_insertion", {"patient_foreign_id": "3", "type_foreign_id": "70", "amount": "1"})
    with pytest.raises(JobRejected, match="adjustment_type_id"):
        run(db, "adjustment_insertion", {"patient_foreign_id": "3", "amount": "1"})


def test_an_alert_is_archived_and_restored_but_only_once_written(db):
    popup = run(db, "patient_alert_insertion", {"patient_foreign_id": "3", "note": "Latex allergy"})
    assert run(db, "patient_alert_update", {"patient_foreign_id": "3", "foreign_id": str(popup), "disabled": True}) == popup
    assert db.query("SELECT IsArchived FROM popup WHERE PopupNum = ?", (popup,)) == [{"IsArchived": 1}]
    run(db, "patient_alert_update", {"patient_foreign_id": "3", "foreign_id": str(popup), "disabled": False})
    assert db.query("SELECT IsArchived FROM popup WHERE PopupNum = ?", (popup,)) == [{"IsArchived": 0}]
    with pytest.raises(JobRejected, match="never written"):
        run(db, "patient_alert_update", {"patient_foreign_id": "3", "foreign_id": None, "disabled": True})
    with pytest.raises(JobRejected, match="another patient"):
        run(db, "patient_alert_update", {"patient_foreign_id": "4", "foreign_id": str(popup), "disabled": True})


def test_a_document_is_filed_in_its_category_or_the_first_one(db, practice_files):
    served, context = practice_files
    served.update({"card": b"\x89PNG card", "consent": b"%PDF consent"})
    doc = run(db, "patient_document_insertion", {"patient_foreign_id": "3", "document_type_foreign_id": "83",
                                                 "filename": "card.png", "content_type": "image/png",
                                                 "path": "patient_documents/2026/03/card.png"}, context=context,
              job_id="card")
    lean = run(db, "patient_document_insertion", {"patient_foreign_id": "3", "filename": "consent.pdf"},
               context=context, job_id="consent")
    rows = db.query("SELECT DocNum, DocCategory, PatNum, FileName, ImgType FROM document WHERE DocNum IN (?, ?)"
                    " ORDER BY DocNum", (doc, lean))
    assert rows == [{"DocNum": doc, "DocCategory": 83, "PatNum": 3, "FileName": "card.png", "ImgType": 2},
                    {"DocNum": lean, "DocCategory": 80, "PatNum": 3, "FileName": "consent.pdf", "ImgType": 0}]
    with pytest.raises(JobRejected, match="Document type 1 does not exist"):  # an adjustment type
        run(db, "patient_document_insertion", {"patient_foreign_id": "3", "document_type_foreign_id": "1",
                                               "filename": "x.pdf"}, context=context)


def test_a_documents_file_lands_in_the_patients_a_to_z_folder_and_its_row_names_it(db, practice_files):
    served, context = practice_files
    [patient] = db.query("SELECT LName, FName FROM patient WHERE PatNum = 3")
    name = "".join(c for c in patient["LName"] + patient["FName"] if c.isalpha())
    folder = context.documents_folder / name[0].upper() / f"{name}3"
    served.update({"first": b"%PDF-1.7 \x00\xff signed", "again": b"%PDF-1.7 a second scan"})

    first = run(db, "patient_document_insertion", {"patient_foreign_id": "3", "filename": "../consent.pdf"},
                context=context, job_id="first")
    again = run(db, "patient_document_insertion", {"patient_foreign_id": "3", "filename": "consent.pdf"},
                context=context, job_id="again")

    rows = db.query("SELECT DocNum, FileName FROM document WHERE DocNum IN (?, ?) ORDER BY DocNum", (first, again))
    assert rows == [{"DocNum": first, "FileName": "consent.pdf"}, {"DocNum": again, "FileName": "consent_2.pdf"}]
    assert (folder / "consent.pdf").read_bytes() == served["first"]  # the same name never replaces a file
    assert (folder / "consent_2.pdf").read_bytes() == served["again"]
    assert sorted(p.name for p in context.documents_folder.rglob("*") if p.is_file()) == ["consent.pdf", "consent_2.pdf"]


def test_a_document_whose_file_cannot_be_downloaded_fails_and_writes_no_row(db, practice_files):
    _, context = practice_files
    [before] = db.query("SELECT COUNT(*) AS n FROM document")

    with pytest.raises(JobRejected, match="could not be downloaded.*no document file"):
        run(db, "patient_document_insertion", {"patient_foreign_id": "3", "filename": "lost.pdf"}, context=context,
            job_id="lost")

    assert db.query("SELECT COUNT(*) AS n FROM document") == [before]
    assert not context.documents_folder.exists()


def test_a_working_hour_is_a_provider_schedule_row_for_its_date(db):
    hour = {"foreign_id": None, "provider_foreign_id": "1", "operatory_foreign_id": "1", "begin_time": "09:00",
            "end_time": "13:30", "days": [], "specific_date": "2026-04-02", "active": True}
    num = run(db, "working_hour_insertion", hour)
    schedule = "SELECT SchedDate, StartTime, StopTime, SchedType, ProvNum, ClinicNum FROM schedule WHERE ScheduleNum = ?"
    assert db.query(schedule, (num,)) == [{"SchedDate": "2026-04-02", "StartTime": "09:00:00", "StopTime": "13:30:00",
                                           "SchedType": 1, "ProvNum": 1, "ClinicNum": 1}]
    assert db.query("SELECT OperatoryNum FROM scheduleop WHERE ScheduleNum = ?", (num,)) == [{"OperatoryNum": 1}]

    assert run(db, "working_hour_update", {**hour, "foreign_id": str(num), "operatory_foreign_id": None,
                                           "end_time": "15:00"}) == num
    assert db.query(schedule, (num,))[0]["StopTime"] == "15:00:00"
    assert db.query("SELECT OperatoryNum FROM scheduleop WHERE ScheduleNum = ?", (num,)) == []

    assert run(db, "working_hour_deletion", {"foreign_id": str(num)}) == num
    assert db.query(schedule, (num,)) == []
    with pytest.raises(JobRejected, match="Provider schedule .* does not exist"):
        run(db, "working_hour_deletion", {"foreign_id": str(num)})


def test_a_working_hour_open_dental_cannot_hold_is_refused_with_the_reason(db):
    hour = {"provider_foreign_id": "1", "begin_time": "09:00", "end_time": "13:30", "specific_date": "2026-04-02",
            "days": [], "active": True}
    for change, reason in [({"specific_date": None, "days": ["Monday"]}, "per date"),
                           ({"active": False}, "no inactive schedules"),
                           ({"provider_foreign_id": "999"}, "Provider 999 does not exist"),
                           ({"end_time": "08:00"}, "end_time must be after begin_time")]:
        with pytest.raises(JobRejected, match=reason):
            run(db, "working_hour_insertion", {**hour, **change})
    assert db.query("SELECT COUNT(*) AS n FROM schedule WHERE SchedDate = '2026-04-02'") == [{"n": 0}]
