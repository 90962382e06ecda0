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


def dump(url: str) -> dict[str, list[dict]]:
    with Database(url) as db:
        return {table: db.query(f"SELECT * FROM {table} ORDER BY 1") for table in practice_db.SCHEMA}


def test_same_seed_same_rows_other_seed_other_rows():
    assert practice_db.build(seed=7, now=NOW) == practice_db.build(seed=7, now=NOW)
    assert practice_db.build(seed=7, now=NOW)["patient"] != practice_db.build(seed=8, now=NOW)["patient"]


def test_default_database_has_realistic_counts_and_is_reproducible(database_url):
    counts = practice_db.generate(database_url, seed=3, now=NOW)
    assert {table: n for table, n in counts.items() if table not in CHART_TABLES} == DEFAULT_COUNTS
    assert set(counts) - set(DEFAULT_COUNTS) == CHART_TABLES
    assert counts["procedurecode"] == 8 and counts["recalltype"] == 2
    assert 0.4 * counts["procedurelog"] < counts["payment"] < 0.6 * counts["procedurelog"]
    assert 400 < counts["recall"] <= 500 and 0 < counts["popup"] < 60
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
    assert {table: n for table, n in counts.items() if table not in CHART_TABLES} == {"clinic": 2, "provider": 1, "operatory": 1, "appointmenttype": 8, "patient": 50,
                      "appointment": 300}


def test_cli_creates_the_database(tmp_path):
    assert practice_db.main(["--database", f"sqlite:///{tmp_path / 'cli.db'}", "--seed", "2", "--scale", "0.05"]) == 0
    with Database(f"sqlite:///{tmp_path / 'cli.db'}") as db:
        assert db.query("SELECT COUNT(*) AS n FROM patient") == [{"n": 25}]
