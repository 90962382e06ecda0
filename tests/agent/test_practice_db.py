import hashlib
import json
import re
from datetime import datetime, timedelta

from syncs.agent import practice_db
from syncs.agent.db import Database

NOW = datetime(2026, 3, 10, 12, 0, 0)
DEFAULT_COUNTS = {"clinic": 2, "provider": 10, "operatory": 10, "appointmenttype": 8, "patient": 500,
                  "appointment": 3000}
# The chart follows the schedule: a procedure per completed visit, a payment for about half, a recall per active
# patient, a few popups.
CHART_TABLES = {"procedurecode", "procedurelog", "payment", "recalltype", "recall", "popup"}
# The rest of the practice: ledger, insurance, claims, treatment plans, notes, documents, staff and schedules.
PRACTICE_TABLES = {"definition", "adjustment", "feesched", "fee", "carrier", "insplan", "inssub", "patplan", "claim",
                   "claimproc", "treatplan", "treatplanattach", "document", "procnote", "employee", "schedule",
                   "scheduleop"}


def dump(url: str) -> dict[str, list[dict]]:
    with Database(url) as db:
        return {table: db.query(f"SELECT * FROM {table} ORDER BY 1") for table in practice_db.SCHEMA}


def test_same_seed_same_rows_other_seed_other_rows():
    assert practice_db.build(seed=7, now=NOW) == practice_db.build(seed=7, now=NOW)
    assert practice_db.build(seed=7, now=NOW)["patient"] != practice_db.build(seed=8, now=NOW)["patient"]


def test_default_database_has_realistic_counts_and_is_reproducible(database_url):
    counts = practice_db.generate(database_url, seed=3, now=NOW)
    assert {table: n for table, n in counts.items() if table in DEFAULT_COUNTS} == DEFAULT_COUNTS
    assert set(counts) - set(DEFAULT_COUNTS) == CHART_TABLES | PRACTICE_TABLES
    assert counts["procedurecode"] == 8 and counts["recalltype"] == 2
    assert 0.4 * counts["procedurelog"] < counts["payment"] < 0.6 * counts["procedurelog"]
    assert 400 < counts["recall"] <= 500 and 0 < counts["popup"] < 60
    # About 40% of patients insured, so a claim for about 40% of visits; a schedule row per provider and weekday.
    assert 0.3 * counts["procedurelog"] < counts["claim"] == counts["claimproc"] < 0.5 * counts["procedurelog"]
    assert 100 < counts["patplan"] < 300 and counts["inssub"] <= counts["patplan"]
    assert counts["definition"] == 12 and counts["insplan"] == 4 and counts["fee"] == 3 * 8 and counts["employee"] == 8
    assert 100 < counts["schedule"] < 200
    first = dump(database_url)
    assert {table: len(rows) for table, rows in first.items()} == counts
    practice_db.generate(database_url, seed=3, now=NOW)  # drops and recreates
    assert dump(database_url) == first


def test_rows_look_like_open_dental_and_are_fictional(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    practice_db.generate(url, seed=1, now=NOW)
    tables = dump(url)
    stamp = NOW.strftime("%Y-%m-%d %H:%M:%S")
    for table, rows in tables.items():
        assert all(row["DateTStamp"] < stamp for row in rows if "DateTStamp" in row), table
    for patient in tables["patient"]:
        for phone in (patient["HmPhone"], patient["WirelessPhone"]):
            assert phone == "" or re.fullmatch(r"\(\d{3}\)555-01\d\d", phone)
        assert patient["Email"] == "" or patient["Email"].endswith("@example.com")
        assert patient["Gender"] in (0, 1, 2) and patient["PatStatus"] in (0, 2)
    assert all(re.fullmatch(r"[X/]+", t["Pattern"]) for t in tables["appointmenttype"])
    low, high = (NOW - timedelta(days=61)).isoformat(" "), (NOW + timedelta(days=61)).isoformat(" ")
    statuses = set()
    for apt in tables["appointment"]:
        assert low < apt["AptDateTime"] < high
        statuses.add(apt["AptStatus"])
        assert re.fullmatch(r"[X/]+", apt["Pattern"])
    assert statuses == {1, 2, 3, 5}


def test_scale_multiplies_rows(tmp_path):
    counts = practice_db.generate(f"sqlite:///{tmp_path / 'p.db'}", scale=0.1, now=NOW)
    assert {table: n for table, n in counts.items() if table in DEFAULT_COUNTS} == {"clinic": 2, "provider": 1, "operatory": 1, "appointmenttype": 8, "patient": 50,
                      "appointment": 300}


def test_cli_creates_the_database(tmp_path, capsys):
    assert practice_db.main(["--database", f"sqlite:///{tmp_path / 'cli.db'}", "--seed", "2", "--scale", "0.05"]) == 0
    with Database(f"sqlite:///{tmp_path / 'cli.db'}") as db:
        assert db.query("SELECT COUNT(*) AS n FROM patient") == [{"n": 25}]
        claims = db.query("SELECT COUNT(*) AS n FROM claim")[0]["n"]
    printed = capsys.readouterr().err
    assert "patient: 25" in printed and f"claim: {claims}," in printed and "schedule: " in printed


# What seed 7 at scale 0.2 generated before the rest of the practice existed (tables, and procedurelog's rows then).
BEFORE_THE_PRACTICE = "1de1f08c6a828a52457afc780414c9b088b7aa7d23e1634b63fc402e659e666a"


def test_the_rest_of_the_practice_leaves_the_earlier_rows_exactly_as_they_were():
    tables = practice_db.build(seed=7, scale=0.2, now=NOW)
    earlier = {table: tables[table] for table in [*DEFAULT_COUNTS, "procedurecode", "procedurelog", "payment",
                                                  "recalltype", "recall", "popup"]}
    earlier["procedurelog"] = [row for row in tables["procedurelog"] if row["ProcStatus"] == practice_db.PROC_COMPLETE]
    assert hashlib.sha256(json.dumps(earlier, sort_keys=True).encode()).hexdigest() == BEFORE_THE_PRACTICE
    # Only planned procedures were appended, after the visits' own.
    planned = tables["procedurelog"][len(earlier["procedurelog"]):]
    assert planned and {row["ProcStatus"] for row in planned} == {practice_db.PROC_TREATMENT_PLANNED}


def test_the_rest_of_the_practice_refers_only_to_rows_that_exist():
    tables = practice_db.build(seed=4, scale=0.3, now=NOW)

    def keys(table: str, column: str, **where) -> set:
        return {row[column] for row in tables[table] if all(row[k] == v for k, v in where.items())}

    procedures = {row["ProcNum"]: row for row in tables["procedurelog"]}
    assert {row["PayType"] for row in tables["payment"]} <= keys("definition", "DefNum", Category=10)
    assert keys("adjustment", "AdjType") <= keys("definition", "DefNum", Category=1, IsHidden=0)
    assert keys("document", "DocCategory") <= keys("definition", "DefNum", Category=18)
    assert keys("fee", "FeeSched") == keys("feesched", "FeeSchedNum")
    assert keys("insplan", "FeeSched") <= keys("feesched", "FeeSchedNum")
    assert keys("insplan", "CarrierNum") <= keys("carrier", "CarrierNum")
    assert keys("inssub", "PlanNum") <= keys("insplan", "PlanNum")
    assert keys("patplan", "InsSubNum") == keys("inssub", "InsSubNum")
    assert keys("claim", "PlanNum") <= keys("insplan", "PlanNum") and keys("claim", "PatNum") <= keys("patplan", "PatNum")
    assert keys("claimproc", "ClaimNum") == keys("claim", "ClaimNum")
    assert all(procedures[n]["ProcStatus"] == practice_db.PROC_COMPLETE for n in keys("claimproc", "ProcNum"))
    assert all(procedures[n]["ProcStatus"] == practice_db.PROC_TREATMENT_PLANNED for n in keys("treatplanattach", "ProcNum"))
    assert keys("treatplanattach", "TreatPlanNum") == keys("treatplan", "TreatPlanNum")
    assert keys("procnote", "ProcNum") <= set(procedures) and all(row["Note"] for row in tables["procnote"])
    assert keys("schedule", "ProvNum", SchedType=1) <= keys("provider", "ProvNum", IsHidden=0)
    assert keys("schedule", "SchedType") == {0, 1}  # a practice holiday too, which is nobody's working hours
    assert keys("scheduleop", "OperatoryNum") <= keys("operatory", "OperatoryNum", IsHidden=0)
    assert all(row["EmailWork"].endswith("@example.com") for row in tables["employee"])
    for claim in tables["claim"]:  # received claims paid what they estimated; others nothing yet
        assert claim["InsPayAmt"] == (claim["InsPayEst"] if claim["ClaimStatus"] == "R" else 0)
