"""The write jobs the reference agent applies to Open Dental beyond appointments and payments, on SQLite and MariaDB."""

from datetime import datetime

import pytest

from syncs.agent import practice_db
from syncs.agent.db import Database
from syncs.agent.runner import WRITERS, JobRejected

NOW = datetime(2026, 3, 10, 12, 0, 0)
TZ = {"1": "America/Chicago", "2": "America/Chicago"}


@pytest.fixture
def db(database_url):
    practice_db.generate(database_url, seed=5, scale=0.1, now=NOW)
    with Database(database_url) as db:
        yield db


def run(db: Database, kind: str, payload: dict, location: str = "1") -> int:
    row_id = WRITERS[kind](db, {"id": "job", "kind": kind, "location_foreign_id": location, "payload": payload}, TZ)
    db.commit()
    return row_id


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


def test_a_document_is_filed_in_its_category_or_the_first_one(db):
    doc = run(db, "patient_document_insertion", {"patient_foreign_id": "3", "document_type_foreign_id": "83",
                                                 "filename": "card.png", "content_type": "image/png",
                                                 "path": "patient_documents/2026/03/card.png"})
    lean = run(db, "patient_document_insertion", {"patient_foreign_id": "3", "filename": "consent.pdf"})
    rows = db.query("SELECT DocNum, DocCategory, PatNum, FileName, ImgType FROM document WHERE DocNum IN (?, ?)"
                    " ORDER BY DocNum", (doc, lean))
    assert rows == [{"DocNum": doc, "DocCategory": 83, "PatNum": 3, "FileName": "card.png", "ImgType": 2},
                    {"DocNum": lean, "DocCategory": 80, "PatNum": 3, "FileName": "consent.pdf", "ImgType": 0}]
    with pytest.raises(JobRejected, match="Document type 1 does not exist"):  # an adjustment type
        run(db, "patient_document_insertion", {"patient_foreign_id": "3", "document_type_foreign_id": "1",
                                               "filename": "x.pdf"})


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
