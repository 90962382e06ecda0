"""The agent end to end against a fake protocol server, on SQLite and MariaDB."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from syncs.agent import practice_db
from syncs.agent.__main__ import main
from syncs.agent.db import STAMP_FORMAT, Database
from syncs.agent.records import KINDS
from tests.agent.fake_server import AGENT_TOKEN, PRODUCT_KEY

KIND_ORDER = [kind.name for kind in KINDS]
ROOT = Path(__file__).resolve().parents[2]


def run_once(fake, database_url: str, state: Path) -> int:
    return main(["--server", fake.url, "--product-key", PRODUCT_KEY, "--database", database_url, "--once",
                 "--state", str(state)])


def sent(fake, kind: str) -> dict[str, list[str]]:
    """foreign ids sent per location for one kind."""
    out: dict[str, list[str]] = {}
    for body in fake.bodies("/records"):
        if body["kind"] == kind:
            out.setdefault(body["location_foreign_id"], []).extend(r["foreign_id"] for r in body["records"])
    return out


def test_activate_read_heartbeat_write_then_resume(fake, database_url, tmp_path, capsys):
    practice_db.generate(database_url, seed=11, scale=0.2)
    with Database(database_url) as db:
        patient = db.query("SELECT PatNum FROM patient WHERE ClinicNum = 1 ORDER BY PatNum LIMIT 1")[0]["PatNum"]
        counts = {t: db.query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in ("patient", "appointment")}
        max_apt = db.query("SELECT MAX(AptNum) AS n FROM appointment")[0]["n"]
    # 15:00 UTC, months ahead: clear of every generated appointment, so the operatory is free.
    start = (datetime.now(UTC) + timedelta(days=200)).replace(hour=15, minute=0, second=0, microsecond=0)
    fake.jobs = {
        "job-ok": {"id": "job-ok", "kind": "appointment_insertion", "location_foreign_id": "1", "payload": {
            "patient_foreign_id": str(patient), "provider_foreign_id": "1", "operatory_foreign_id": "1",
            "appointment_type_foreign_id": "2", "start_time": start.isoformat(),
            "end_time": (start + timedelta(minutes=40)).isoformat(), "note": "Booked online"}},
        "job-lean": {"id": "job-lean", "kind": "appointment_insertion", "location_foreign_id": "2", "payload": {
            "patient_foreign_id": str(patient), "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ")}},
        "job-bad": {"id": "job-bad", "kind": "appointment_insertion", "location_foreign_id": "1", "payload": {
            "patient_foreign_id": "999999", "provider_foreign_id": None, "operatory_foreign_id": None,
            "appointment_type_foreign_id": None, "start_time": start.isoformat(), "end_time": None, "note": ""}},
    }
    state = tmp_path / "agent-state.json"

    assert run_once(fake, database_url, state) == 0

    # Activation first and once, without a bearer; every later call carries the agent token.
    assert fake.paths()[:2] == ["/activate", "/locations"]
    assert fake.paths().count("/activate") == 1
    activate = fake.calls[0]
    assert activate.authorization is None
    assert activate.body["product_key"] == PRODUCT_KEY
    assert set(activate.body["host"]) == {"hostname", "os", "agent_version"}
    assert all(call.authorization == f"Bearer {AGENT_TOKEN}" for call in fake.calls[1:])

    [locations] = fake.bodies("/locations")
    assert [(loc["foreign_id"], loc["name"], loc["tz"]) for loc in locations["locations"]] == [
        ("1", "Main Street Dental", "America/Chicago"), ("2", "Lakeside Family Dentistry", "America/Chicago")]

    # Records: batches under the server's limit, kinds in dependency order, every row once per location.
    batches = fake.bodies("/records")
    assert all(0 < len(b["records"]) <= fake.batch_limit and b["deleted"] == [] for b in batches)
    order = [KIND_ORDER.index(b["kind"]) for b in batches]
    assert order == sorted(order) and set(order) == set(range(len(KINDS)))
    assert sum(len(ids) for ids in sent(fake, "patients").values()) == counts["patient"]
    assert sum(len(ids) for ids in sent(fake, "appointments").values()) == counts["appointment"]
    assert len(sent(fake, "appointments")["1"]) > fake.batch_limit  # so it really was split
    assert "1" in sent(fake, "providers")["1"] and "1" in sent(fake, "providers")["2"]  # ClinicNum 0: everywhere

    # Heartbeat after the records, before the write jobs.
    paths = fake.paths()
    assert paths.index("/heartbeat") > max(i for i, p in enumerate(paths) if p == "/records")
    assert paths.index("/write_jobs") > paths.index("/heartbeat")
    [beat] = fake.bodies("/heartbeat")
    assert beat["agent_version"] == "1.0.0" and beat["last_read_at"].endswith("Z") and beat["last_write_at"] is None
    assert beat["host"]["pending_reboot"] is False and beat["host"]["free_disk_mb"] > 0

    # Write jobs: inserted into the practice database and reported.
    assert fake.results["job-bad"] == {"status": "failed", "error": "Patient 999999 does not exist in Open Dental"}
    assert fake.results["job-ok"] == {"status": "complete", "foreign_id": str(max_apt + 1)}
    assert fake.results["job-lean"] == {"status": "complete", "foreign_id": str(max_apt + 2)}
    with Database(database_url) as db:
        ok, lean = db.query("SELECT * FROM appointment WHERE AptNum > ? ORDER BY AptNum", (max_apt,))
    assert ok["AptDateTime"] == start.astimezone(ZoneInfo("America/Chicago")).strftime(STAMP_FORMAT)  # local time
    assert (ok["PatNum"], ok["AptStatus"], ok["Op"], ok["ProvNum"], ok["AppointmentTypeNum"], ok["ClinicNum"],
            ok["Note"]) == (patient, 1, 1, 1, 2, 1, "Booked online")
    assert ok["Pattern"] == "//XX////"  # 40 minutes: the type's own pattern
    assert (lean["Pattern"], lean["Op"], lean["ClinicNum"], lean["AppointmentTypeNum"]) == ("XXXXXX", 0, 2, 0)

    saved = json.loads(state.read_text())
    assert saved["agent_token"] == AGENT_TOKEN and saved["sync_id"] == "SYNC1" and saved["pending_jobs"] == {}
    assert set(saved["marks"]) == {kind.mark_key for kind in KINDS}
    assert oct(state.stat().st_mode & 0o777) == "0o600"
    err = capsys.readouterr().err
    assert "Activated sync SYNC1" in err and PRODUCT_KEY not in err and AGENT_TOKEN not in err

    # Second run: resumes from the state file; only what changed since is sent.
    with Database(database_url) as db:
        db.execute("UPDATE patient SET FName = 'Renamed', DateTStamp = ? WHERE PatNum = ?",
                   (datetime.now().strftime(STAMP_FORMAT), patient))
        db.commit()
    fake.calls.clear()
    assert run_once(fake, database_url, state) == 0
    assert fake.paths() == ["/records"] * 3 + ["/heartbeat", "/write_jobs"]  # no activate, no locations
    assert sent(fake, "patients") == {"1": [str(patient)]}
    assert sent(fake, "appointments") == {"1": [str(max_apt + 1)], "2": [str(max_apt + 2)]}
    assert fake.bodies("/heartbeat")[0]["last_write_at"] is not None


def test_a_job_inserted_but_never_reported_is_reported_not_inserted_again(fake, tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    practice_db.generate(url, seed=1, scale=0.05)
    fake.activated = True
    fake.jobs = {"job-x": {"id": "job-x", "kind": "appointment_insertion", "location_foreign_id": "1",
                           "payload": {"patient_foreign_id": "1", "start_time": "2030-01-01T15:00:00Z"}}}
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"agent_token": AGENT_TOKEN, "sync_id": "SYNC1", "pending_jobs": {"job-x": "4242"}}))
    assert run_once(fake, url, state) == 0
    assert fake.results == {"job-x": {"status": "complete", "foreign_id": "4242"}}
    with Database(url) as db:
        assert db.query("SELECT COUNT(*) AS n FROM appointment WHERE AptDateTime LIKE '2030%'") == [{"n": 0}]
    assert json.loads(state.read_text())["pending_jobs"] == {}


def test_a_used_product_key_stops_with_exit_2(fake, tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    practice_db.generate(url, scale=0.05)
    fake.activated = True
    assert run_once(fake, url, tmp_path / "state.json") == 2
    assert fake.paths() == ["/activate"]


def test_the_real_program_runs_and_masks_its_secrets(fake, tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "syncs.agent.practice_db", "--database", url, "--scale", "0.05"],
                   check=True, cwd=tmp_path, env=env, capture_output=True)
    done = subprocess.run([sys.executable, "-m", "syncs.agent", "--server", fake.url, "--product-key", PRODUCT_KEY,
                           "--database", url, "--once"], check=False, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Activated sync SYNC1" in done.stderr
    assert PRODUCT_KEY not in done.stderr + done.stdout and AGENT_TOKEN not in done.stderr + done.stdout
    [state_file] = tmp_path.glob(".chairside-agent-*.json")  # the default state file, in the working directory
    assert json.loads(state_file.read_text())["agent_token"] == AGENT_TOKEN


def test_a_429_on_records_is_waited_out(fake, tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    practice_db.generate(url, scale=0.05)
    fake.interruptions["/records"] = [(429, {"Retry-After": "0"})]
    assert run_once(fake, url, tmp_path / "state.json") == 0
    kinds = [body["kind"] for body in fake.bodies("/records")]
    assert kinds[:2] == ["providers", "providers"]  # the refused batch, sent again
    assert "/heartbeat" in fake.paths()


def test_the_loop_cycles_heartbeats_at_the_servers_pace_and_stops_on_sigterm(fake, tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    practice_db.generate(url, scale=0.05)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    agent = subprocess.Popen([sys.executable, "-m", "syncs.agent", "--server", fake.url, "--product-key", PRODUCT_KEY,
                              "--database", url, "--interval", "0.1"], cwd=tmp_path, env=env,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while fake.paths().count("/write_jobs") < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=10) == 0, agent.stderr.read()
    assert fake.paths().count("/write_jobs") >= 4  # a cycle every 0.1 s ...
    assert fake.paths().count("/heartbeat") == 1  # ... but one heartbeat per heartbeat_interval_s (60 s)
    assert "Stopping" in agent.stderr.read()
