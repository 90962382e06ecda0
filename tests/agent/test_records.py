from datetime import datetime

import pytest

from syncs.agent import practice_db, records
from syncs.agent.db import Database
from syncs.agent.records import KINDS, Mark, read_changes

NOW = datetime(2026, 3, 10, 12, 0, 0)
PATIENTS = next(kind for kind in KINDS if kind.name == "patients")


@pytest.fixture
def db(database_url):
    practice_db.generate(database_url, seed=5, scale=0.1, now=NOW)
    with Database(database_url) as db:
        yield db


def test_incremental_read_returns_only_newer_rows(db):
    rows, mark = read_changes(db, PATIENTS, Mark())
    assert len(rows) == 50
    assert [r["DateTStamp"] for r in rows] == sorted(r["DateTStamp"] for r in rows)
    assert mark.stamp == rows[-1]["DateTStamp"] and rows[-1]["PatNum"] in mark.ids
    assert read_changes(db, PATIENTS, mark) == ([], mark)

    db.execute("UPDATE patient SET FName = 'Renamed', DateTStamp = '2026-03-10 12:05:00' WHERE PatNum = 7")
    db.commit()
    rows, mark = read_changes(db, PATIENTS, mark)
    assert [(r["PatNum"], r["FName"]) for r in rows] == [(7, "Renamed")]
    assert mark == Mark("2026-03-10 12:05:00", [7])

    # Written later in the same second as the mark: still read, once.
    db.execute("UPDATE patient SET DateTStamp = '2026-03-10 12:05:00' WHERE PatNum = 9")
    db.commit()
    rows, mark = read_changes(db, PATIENTS, mark)
    assert [r["PatNum"] for r in rows] == [9]
    assert mark == Mark("2026-03-10 12:05:00", [7, 9])
    assert read_changes(db, PATIENTS, mark)[0] == []


ROW_STAMP = "2026-03-10 09:00:00"  # 14:00 UTC: Chicago is on daylight time (UTC-5) from 8 March 2026


def test_provider_operatory_and_type_shapes():
    provider = records.provider({"ProvNum": 3, "FName": "Iris", "LName": "Sterling", "Abbr": "DOC3",
                                 "NationalProvID": "1234567890", "IsHidden": 1, "ClinicNum": 1,
                                 "DateTStamp": ROW_STAMP}, "America/Chicago")
    assert provider == {"foreign_id": "3", "first_name": "Iris", "last_name": "Sterling", "display_name": "Iris Sterling",
                        "npi": "1234567890", "inactive": True, "updated_at": "2026-03-10T14:00:00Z"}
    operatory = records.operatory({"OperatoryNum": 4, "OpName": "Hygiene 4", "Abbrev": "HYG4", "IsHidden": 0,
                                   "ClinicNum": 2, "DateTStamp": ROW_STAMP}, "America/Chicago")
    assert operatory == {"foreign_id": "4", "name": "Hygiene 4", "display_name": "HYG4", "active": True,
                         "updated_at": "2026-03-10T14:00:00Z"}
    kind = records.appointment_type({"AppointmentTypeNum": 2, "AppointmentTypeName": "Adult Prophy",
                                     "Pattern": "//XX////", "IsHidden": 0, "DateTStamp": ROW_STAMP}, "America/Chicago")
    assert kind == {"foreign_id": "2", "name": "Adult Prophy", "minutes": 40, "updated_at": "2026-03-10T14:00:00Z"}


def test_patient_shape():
    row = {"PatNum": 1043, "LName": "Diaz", "FName": "Ana", "Birthdate": "1984-02-11", "Email": "ana.diaz1043@example.com",
           "HmPhone": "(512)555-0188", "WirelessPhone": "(512)555-0142", "Gender": 1, "PatStatus": 0,
           "Address": "12 Oak St", "City": "Austin", "State": "TX", "Zip": "78701", "ClinicNum": 1, "PriProv": 2,
           "DateTStamp": ROW_STAMP}
    assert records.patient(row, "America/Chicago") == {
        "foreign_id": "1043", "first_name": "Ana", "last_name": "Diaz", "email": "ana.diaz1043@example.com",
        "bio": {"date_of_birth": "1984-02-11", "phone_number": "5125550142", "gender": "Female",
                "street_address": "12 Oak St", "city": "Austin", "state": "TX", "zip_code": "78701"},
        "inactive": False, "provider_foreign_id": "2", "updated_at": "2026-03-10T14:00:00Z",
    }
    unknown = records.patient({**row, "Gender": 2, "PatStatus": 2, "Birthdate": "0001-01-01", "WirelessPhone": "",
                               "PriProv": 0}, "America/Chicago")
    assert unknown["bio"]["gender"] == "Other" and unknown["bio"]["date_of_birth"] is None
    assert unknown["bio"]["phone_number"] == "5125550188"  # falls back to the home phone
    assert unknown["inactive"] is True and unknown["provider_foreign_id"] is None
    assert records.patient({**row, "Gender": 0}, "America/Chicago")["bio"]["gender"] == "Male"


def test_appointment_shape_in_utc():
    row = {"AptNum": 88, "PatNum": 1043, "AptStatus": 1, "Pattern": "/XXXX/", "AptDateTime": "2026-03-10 09:00:00",
           "Op": 4, "ProvNum": 2, "AppointmentTypeNum": 0, "Note": "Premedicate", "ClinicNum": 1, "Confirmed": 1,
           "DateTStamp": ROW_STAMP}
    assert records.appointment(row, "America/Chicago") == {
        "foreign_id": "88", "start_time": "2026-03-10T14:00:00Z", "end_time": "2026-03-10T14:30:00Z",
        "patient_foreign_id": "1043", "provider_foreign_id": "2", "operatory_foreign_id": "4",
        "appointment_type_foreign_id": None, "cancelled": False, "confirmed": True, "note": "Premedicate",
        "updated_at": "2026-03-10T14:00:00Z",
    }
    winter = records.appointment({**row, "AptDateTime": "2026-01-05 09:00:00", "AptStatus": 5, "Confirmed": 0},
                                 "America/Chicago")
    assert winter["start_time"] == "2026-01-05T15:00:00Z"  # CST, UTC-6
    assert winter["cancelled"] is True and winter["confirmed"] is False
    assert records.appointment({**row, "AptDateTime": "0001-01-01 00:00:00"}, "America/Chicago") is None


def test_records_are_grouped_by_clinic_and_shared_rows_go_everywhere():
    tz = {"1": "America/Chicago", "2": "America/Denver"}
    providers = next(kind for kind in KINDS if kind.name == "providers")
    rows = [{"ProvNum": 1, "FName": "A", "LName": "B", "Abbr": "", "NationalProvID": "", "IsHidden": 0, "ClinicNum": 0,
             "DateTStamp": ROW_STAMP},
            {"ProvNum": 2, "FName": "C", "LName": "D", "Abbr": "", "NationalProvID": "", "IsHidden": 0, "ClinicNum": 2,
             "DateTStamp": ROW_STAMP},
            {"ProvNum": 3, "FName": "E", "LName": "F", "Abbr": "", "NationalProvID": "", "IsHidden": 0, "ClinicNum": 9,
             "DateTStamp": ROW_STAMP}]  # a hidden or unknown clinic: nowhere
    grouped = records.group_records(providers, rows, tz)
    assert {loc: [r["foreign_id"] for r in recs] for loc, recs in grouped.items()} == {"1": ["1"], "2": ["1", "2"]}
    assert grouped["2"][0]["updated_at"] == "2026-03-10T15:00:00Z"  # each location's own time zone


def test_locations_from_clinics(db):
    locations = records.read_locations(db)
    assert locations[0] == {"foreign_id": "1", "name": "Main Street Dental", "street_address": "100 Main St",
                            "street_address_2": "Suite 200", "city": "Austin", "state": "TX", "zip_code": "78701",
                            "phone_number": "5125550100", "tz": "America/Chicago"}
    assert [loc["foreign_id"] for loc in locations] == ["1", "2"]
    db.execute("DELETE FROM clinic")
    assert records.read_locations(db) == [{"foreign_id": "0", "name": "Main office", "tz": "America/Chicago"}]
