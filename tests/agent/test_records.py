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


def test_every_kind_maps_to_records_the_protocol_accepts(database_url):
    """Each kind the agent reads, from a generated practice, validates against the server's own serializer, and
    sends no field the serializer would silently drop (but `updated_at`: the server keeps its own times)."""
    from syncs.protocol.records import KINDS as PROTOCOL_KINDS

    practice_db.generate(database_url, seed=7, scale=0.2, now=NOW)  # popups too, at this seed
    with Database(database_url) as db:
        tz = {location["foreign_id"]: location["tz"] for location in records.read_locations(db)}
        grouped_by_kind = {kind.name: records.group_records(kind, read_changes(db, kind, Mark())[0], tz) for kind in KINDS}
    for kind, grouped in grouped_by_kind.items():
        assert grouped, f"{kind}: nothing generated"
        row_in = PROTOCOL_KINDS[kind][1]
        for location_records in grouped.values():
            assert set().union(*location_records) - {"updated_at"} <= set(row_in().fields), kind
            check = row_in(data=location_records, many=True)
            assert check.is_valid(), (kind.name, check.errors)


def test_kinds_that_share_a_table_keep_marks_of_their_own():
    assert len({kind.mark_key for kind in KINDS}) == len(KINDS)
    by_name = {kind.name: kind for kind in KINDS}
    assert by_name["procedures"].mark_key == "procedurelog" != by_name["charges"].mark_key  # agents' states kept
    order = [kind.name for kind in KINDS]
    for before, after in [("procedures", "charges"), ("charges", "claims"), ("fee_schedules", "insurance_plans"),
                          ("insurance_plans", "insurance_coverages"), ("insurance_plans", "claims"),
                          ("adjustment_types", "adjustments"), ("charges", "adjustments"), ("payment_types", "payments"),
                          ("procedures", "treatment_plans"), ("procedures", "clinical_notes"),
                          ("document_types", "patient_documents"), ("providers", "working_hours")]:
        assert order.index(before) < order.index(after), (before, after)


def test_a_completed_procedure_is_a_charge_and_a_deleted_one_voids_it(db):
    charges = next(kind for kind in KINDS if kind.name == "charges")
    rows, mark = read_changes(db, charges, Mark())
    assert rows and {row["ProcStatus"] for row in rows} == {2}  # planned procedures are no charges
    row = rows[0]
    assert records.charge(row, "America/Chicago") == {
        "foreign_id": str(row["ProcNum"]), "patient_foreign_id": str(row["PatNum"]),
        "provider_foreign_id": str(row["ProvNum"]), "procedure_foreign_id": str(row["ProcNum"]),
        "procedure_code": row["ProcCode"], "description": row["Descript"], "charged_at": row["ProcDate"],
        "fee": f"{row['ProcFee']:.2f}", "deleted_at": None}
    db.execute("UPDATE procedurelog SET ProcStatus = 6, DateTStamp = ? WHERE ProcNum = ?", (ROW_STAMP, row["ProcNum"]))
    db.commit()
    [deleted], _ = read_changes(db, charges, mark)
    assert records.charge(deleted, "America/Chicago")["deleted_at"] == "2026-03-10T14:00:00Z"


def test_a_claim_carries_its_claimprocs_as_payouts(db):
    claims = next(kind for kind in KINDS if kind.name == "claims")
    rows, _ = read_changes(db, claims, Mark())
    received = next(row for row in rows if row["ClaimStatus"] == "R")
    [line] = received["children"]
    claim = records.claim(received, "America/Chicago")
    assert claim["status"] == "received" and claim["primary_insurance_plan_foreign_id"] == str(received["PlanNum"])
    assert claim["sent_at"].endswith("Z") and claim["received_at"].endswith("Z")
    assert claim["charges"] == [{
        "charge_foreign_id": str(line["ProcNum"]), "amount_billed_to_insurance": f"{line['FeeBilled']:.2f}",
        "allowed_amount": f"{line['FeeBilled'] - line['WriteOff']:.2f}", "estimated_insurance_payment": f"{line['InsPayEst']:.2f}",
        "insurance_payment": f"{line['InsPayAmt']:.2f}", "write_off": f"{line['WriteOff']:.2f}"}]
    waiting = records.claim({**received, "ClaimStatus": "W", "children": []}, "America/Chicago")
    assert (waiting["status"], waiting["sent_at"], waiting["received_at"], waiting["charges"]) == ("draft", None, None, [])


def test_coverage_plan_and_ledger_shapes():
    coverage = records.insurance_coverage({
        "PatPlanNum": 4, "PatNum": 12, "Ordinal": 2, "IsPending": 0, "Relationship": 1, "PatID": "", "InsSubNum": 3,
        "PlanNum": 2, "Subscriber": 11, "SubscriberID": "XZ123", "DateEffective": "2024-01-01",
        "DateTerm": "0001-01-01", "PatClinicNum": 1, "DateTStamp": ROW_STAMP}, "America/Chicago")
    assert coverage == {"foreign_id": "4", "patient_foreign_id": "12", "plan_foreign_id": "2",
                        "subscriber_foreign_id": "11", "subscriber_num": "XZ123", "subscription_relation": "spouse",
                        "priority": 2, "effective_date": "2024-01-01", "expiration_date": None, "active": True,
                        "insurance_type": "dental"}
    plan = records.insurance_plan({"PlanNum": 2, "GroupName": "Mesquite Manufacturing", "GroupNum": "G1", "CarrierNum": 2,
                                   "FeeSched": 3, "IsHidden": 0, "CarrierName": "Lone Star Benefit Co",
                                   "CarrierAddress": "500 Commerce St", "CarrierAddress2": "", "CarrierCity": "Dallas",
                                   "CarrierState": "TX", "CarrierZip": "75202", "ElectID": "12345",
                                   "DateTStamp": ROW_STAMP}, "America/Chicago")
    assert (plan["name"], plan["payer_id"], plan["fee_schedule_foreign_id"], plan["city"]) == (
        "Lone Star Benefit Co", "12345", "3", "Dallas")
    definition = {"DefNum": 3, "Category": 1, "ItemOrder": 2, "ItemName": "Finance charge", "ItemValue": "+",
                  "IsHidden": 0, "DateTStamp": ROW_STAMP}
    assert records.adjustment_type(definition, "America/Chicago") == {
        "foreign_id": "3", "name": "Finance charge", "active": True, "action": "debit"}
    assert records.adjustment_type({**definition, "ItemValue": "-", "IsHidden": 1}, "America/Chicago")["action"] == "credit"
    adjustment = records.adjustment({"AdjNum": 9, "AdjDate": "2026-03-02", "AdjAmt": -18.0, "PatNum": 12, "AdjType": 1,
                                     "ProvNum": 2, "AdjNote": "", "ProcNum": 0, "ClinicNum": 1, "DateTStamp": ROW_STAMP},
                                    "America/Chicago")
    assert (adjustment["amount"], adjustment["charge_foreign_id"], adjustment["adjustment_type_foreign_id"]) == (
        "-18.00", None, "1")


def test_plan_note_document_staff_and_working_hour_shapes():
    tz = "America/Chicago"
    plan = records.treatment_plan({"TreatPlanNum": 5, "PatNum": 12, "DateTP": "2026-03-01", "Heading": "Active Treatment Plan",
                                   "Note": "", "TPStatus": 1, "DateTStamp": ROW_STAMP, "children": [
                                       {"TreatPlanAttachNum": 2, "ProcNum": 41, "Priority": 2},
                                       {"TreatPlanAttachNum": 1, "ProcNum": 40, "Priority": 1}]}, tz)
    assert plan == {"foreign_id": "5", "patient_foreign_id": "12", "name": "Active Treatment Plan",
                    "status": "proposed", "procedure_foreign_ids": ["40", "41"]}
    note = {"ProcNoteNum": 7, "PatNum": 12, "ProcNum": 40, "EntryDateTime": "2026-03-10 09:00:00", "UserNum": 1,
            "Note": "Pt tolerated procedure well.", "Signature": "ABC", "ProcStatus": 2, "DateTStamp": ROW_STAMP}
    assert records.clinical_note(note, tz) == {
        "foreign_id": "7", "patient_foreign_id": "12", "procedure_foreign_id": "40",
        "content": "Pt tolerated procedure well.", "entered_at": "2026-03-10T14:00:00Z", "completed": True, "signed": True}
    assert records.clinical_note({**note, "Note": "  "}, tz) is None
    document = records.patient_document({"DocNum": 3, "Description": "PanoXray", "DateCreated": ROW_STAMP,
                                         "DocCategory": 80, "PatNum": 12, "FileName": "PanoXray3.jpg", "ImgType": 1,
                                         "DateTStamp": ROW_STAMP}, tz)
    assert document == {"foreign_id": "3", "patient_foreign_id": "12", "document_type_foreign_id": "80",
                        "filename": "PanoXray3.jpg", "content_type": "image/jpeg"}
    staff = {"EmployeeNum": 2, "LName": "Quill", "FName": "Rosa", "EmailWork": "rosa@example.com", "IsHidden": 1,
             "DateTStamp": ROW_STAMP}
    assert records.staff_member(staff, tz) == {"foreign_id": "2", "first_name": "Rosa", "last_name": "Quill",
                                               "email": "rosa@example.com", "inactive": True}
    assert records.staff_member({**staff, "EmailWork": "rosa at example"}, tz)["email"] == ""
    schedule = {"ScheduleNum": 8, "SchedDate": "2026-03-11", "StartTime": "08:00:00", "StopTime": "17:00:00",
                "SchedType": 1, "ProvNum": 2, "ClinicNum": 1, "ProvClinicNum": 0, "DateTStamp": ROW_STAMP,
                "children": [{"ScheduleOpNum": 1, "ScheduleNum": 8, "OperatoryNum": 4}]}
    assert records.working_hour(schedule, tz) == {
        "foreign_id": "8", "provider_foreign_id": "2", "operatory_foreign_id": "4", "begin_time": "08:00:00",
        "end_time": "17:00:00", "days": [], "specific_date": "2026-03-11", "active": True}
    assert records.working_hour({**schedule, "ProvClinicNum": 2}, tz) is None  # the provider is not sent to clinic 1
    assert records.working_hour({**schedule, "StopTime": "08:00:00"}, tz) is None


def test_provider_schedules_only_are_working_hours(db):
    hours = next(kind for kind in KINDS if kind.name == "working_hours")
    rows, _ = read_changes(db, hours, Mark())
    assert rows and {row["SchedType"] for row in rows} == {1}
    assert any(row["children"] for row in rows)  # scheduleop rows came with their schedule
