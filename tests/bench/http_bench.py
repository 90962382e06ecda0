"""HTTP benchmark (`make bench`): not a test; it prints ratios, p50/p99 and a per-request profile, never pass/fail.

Serves the project with gunicorn (2 sync workers by default) on a scratch database, drives it with `wrk` (a C load
generator: it costs this machine far less CPU than a Python client would) and compares every endpoint with a bare
Django JSON view (/bench/bare) served by the same gunicorn, through the same middleware, in the same run. The bare
view is measured first and last; the mean of the two is the baseline (the machine is shared and drifts).

Database and cache: PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (a scratch database chairside_bench
on that server, created and dropped here; Redis database BENCH_REDIS_DB, default 3, flushed before the run), else
SQLite in a temporary directory and the local-memory cache.

Usage: python tests/bench/http_bench.py [--workers 2] [--threads 1] [--connections 4] [--duration 5]
       [--mixed 60] [--cprofile]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import http.client
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's bin: gunicorn is installed next to its python
BENCH_DB = "chairside_bench"
API_VERSION = "v20240412"
HEARTBEAT_RATE = 10_000 / 15  # 10,000 agents, one heartbeat each per 15 s


@dataclass
class Run:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    errors: int
    requests: int


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    raise SystemExit("wrk is not installed: `apt-get install -y wrk` (the Makefile's bench target does it)")


def to_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}[unit]


def parse_wrk(label: str, output: str) -> Run:
    def grab(pattern: str, default: str = "0") -> str:
        match = re.search(pattern, output)
        return match.group(1) if match else default

    errors = int(grab(r"Non-2xx or 3xx responses: (\d+)"))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        # `read` errors are gunicorn's sync workers closing the connection after each answer, not failures.
        errors += int(socket_errors.group(1)) + int(socket_errors.group(3)) + int(socket_errors.group(4))
    return Run(label, float(grab(r"Requests/sec:\s+([\d.]+)")), to_ms(grab(r"\n\s+50%\s+(\S+)", "0ms")),
               to_ms(grab(r"\n\s+99%\s+(\S+)", "0ms")), to_ms(grab(r"Latency\s+(\S+)", "0ms")), errors,
               int(grab(r"(\d+) requests in")))


LUA_HEADERS = """
local headers = {HEADERS}
request = function()
  return wrk.format("GET", nil, headers)
end
"""

# Each request a different agent, as 10,000 agents would send them; each connection starts at its own offset.
LUA_HEARTBEAT = """
local n = 0
local body = '{"last_read_at": "NOW", "last_write_at": "NOW", "agent_version": "1.0.0", "host": {"free_disk_mb": 51200, "pending_reboot": false}}'
local delay_ms = DELAY
setup = function(thread) thread:set("offset", math.random(0, COUNT - 1)) end
request = function()
  n = n + 1
  local headers = {["Content-Type"] = "application/json",
                   ["Authorization"] = "Bearer PREFIX" .. ((offset + n) % COUNT)}
  return wrk.format("POST", "/synchronizer/v1/heartbeat", headers, body)
end
if delay_ms > 0 then delay = function() return delay_ms end end
"""

# Mixed API traffic: the paths in turn, paced per connection.
LUA_ROTATE = """
local paths = {PATHS}
local headers = {HEADERS}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1], headers)
end
delay = function() return DELAY end
"""


def lua_table(mapping: dict[str, str]) -> str:
    return "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in mapping.items()) + "}"


def wrk(label: str, url: str, *, script: str, connections: int, duration: float, threads: int = 1) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        done = subprocess.run([wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency",
                               "--timeout", "30s", "-s", file.name, url], capture_output=True, text=True)
    finally:
        os.unlink(file.name)
    if done.returncode:
        raise SystemExit(f"wrk failed for {label}:\n{done.stdout}{done.stderr}")
    return parse_wrk(label, done.stdout)


def call(port: int, method: str, path: str, headers: dict[str, str], body: bytes | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(server: subprocess.Popen, port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if call(port, "GET", "/bench/bare", {})[0] == 200:
                return
        except OSError:
            time.sleep(0.2)  # not listening yet
    raise SystemExit(f"gunicorn did not start:\n{log.read_text()[-3000:]}")


def drain(port: int, timeout: float = 60) -> None:
    """Wait until requests left in flight by a slow row are done, so they do not slow the next row down."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = time.monotonic()
        call(port, "GET", "/bench/bare", {})
        if time.monotonic() - started < 0.05:
            return


def postgres_scratch(admin_url: str, *, create: bool) -> None:
    import psycopg  # only needed with PostgreSQL

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def vacuum_analyze(database_url: str) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def bench_env(var_dir: Path) -> tuple[dict[str, str], str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.bench.settings", "DJANGO_ENV": "local",
           "VAR_DIR": str(var_dir), "EMAIL_URL": "memory://", "SANDBOX_SAMPLE_DATA": "true",
           "PYTHONPATH": str(ROOT)}
    admin_url = os.environ.get("DATABASE_URL", "")
    if admin_url:
        parts = urlsplit(admin_url)
        if parts.scheme not in {"postgres", "postgresql"}:
            raise SystemExit("DATABASE_URL must be PostgreSQL (or unset for SQLite)")
        env["DATABASE_URL"] = f"{parts.scheme}://{parts.netloc}/{BENCH_DB}" + (f"?{parts.query}" if parts.query else "")
    if os.environ.get("REDIS_URL"):
        parts = urlsplit(os.environ["REDIS_URL"])
        env["REDIS_URL"] = f"{parts.scheme}://{parts.netloc}/{os.environ.get('BENCH_REDIS_DB', '3')}"
        env["CELERY_TASK_ALWAYS_EAGER"] = "true"  # no worker in the benchmark; nothing it requests enqueues
    return env, admin_url


def run_python(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{args[0]} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (>1: gunicorn's gthread worker)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections per endpoint")
    parser.add_argument("--duration", type=float, default=5, help="measured seconds per endpoint")
    parser.add_argument("--mixed", type=float, default=60, help="seconds of mixed load (0: skip)")
    parser.add_argument("--cprofile", action="store_true", help="also print each endpoint's top functions")
    args = parser.parse_args()
    wrk_path()

    var_dir = Path(tempfile.mkdtemp(prefix="chairside-http-bench-"))
    env, admin_url = bench_env(var_dir)
    server: subprocess.Popen | None = None
    try:
        if admin_url:
            postgres_scratch(admin_url, create=True)
        if env.get("REDIS_URL"):
            import redis

            redis.Redis.from_url(env["REDIS_URL"]).flushdb()
        run_python(env, "manage.py", "migrate", "--noinput")
        seeded_at = time.monotonic()
        seed = json.loads(run_python(env, "tests/bench/seed.py").strip().splitlines()[-1])
        seeded_in = time.monotonic() - seeded_at
        if admin_url:
            # What autovacuum does to a production database after a bulk load: without statistics the planner
            # guesses one row per table and picks nested loops over 10,000 rows (about 2x slower board counts).
            vacuum_analyze(env["DATABASE_URL"])

        port = free_port()
        log = var_dir / "gunicorn.log"
        command = [str(BIN / "gunicorn"), "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
                   "--workers", str(args.workers), "--log-level", "warning", "--chdir", str(ROOT),
                   "--backlog", "4096"]
        if args.threads > 1:
            command += ["--worker-class", "gthread", "--threads", str(args.threads)]
        with log.open("w") as log_file:
            server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        wait_ready(server, port, log)

        def bearer(api_key: str) -> dict[str, str]:
            status, body = call(port, "POST", "/api/authenticates", {"Authorization": api_key})
            if not 200 <= status < 300:
                raise SystemExit(f"POST /api/authenticates answered {status} {body[:300]!r}")
            return {"Authorization": f"Bearer {json.loads(body)['data']['token']}", "Nex-Api-Version": API_VERSION}

        demo = seed["demo"]
        demo_api = bearer(demo["api_key"])
        api = {size: bearer(seed[size]["api_key"]) for size in ("100", "10000")}
        scope = {"subdomain": demo["subdomain"], "location_id": demo["location_id"], "per_page": 100}
        now = datetime.now(UTC)
        window = {"start": (now - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "end": (now + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        patients = f"/api/patients?{urlencode(scope)}"
        appointments = f"/api/appointments?{urlencode({**scope, **window})}"
        procedures = f"/api/procedures?{urlencode(scope)}"  # a ledger list (issue 12): the sandbox's chart

        def page(session: str) -> dict[str, str]:
            return {"Cookie": f"sessionid={session}"}

        heartbeat_body = json.dumps({"last_read_at": now.isoformat(), "last_write_at": now.isoformat(),
                                     "agent_version": "1.0.0", "host": {"free_disk_mb": 51200}})
        # (label, target, path, headers, heartbeat agents prefix or None)
        rows = [
            ("bare (first)", "", "/bench/bare", {}, None),
            ("GET /api/patients?per_page=100", ">= 0.25x", patients, demo_api, None),
            ("GET /api/appointments?per_page=100", ">= 0.2x", appointments, demo_api, None),
            ("GET /api/procedures?per_page=100", "", procedures, demo_api, None),
            ("GET /api/sync_status (100 syncs)", ">= 0.5x", "/api/sync_status", api["100"], None),
            ("GET /api/sync_status (10000 syncs)", "< 300 ms", "/api/sync_status", api["10000"], None),
            ("POST heartbeat (10000 agents)", ">= 0.7x", "/synchronizer/v1/heartbeat", {},
             seed["10000"]["agent_prefix"]),
            ("board, 1 institution", ">= 0.2x", "/institutions/", page(demo["session"]), None),
            ("board ALL p1, 100", "", "/institutions/?section=all", page(seed["100"]["session"]), None),
            ("board ALL p1, 10000", "<= 1.5x of 100", "/institutions/?section=all", page(seed["10000"]["session"]), None),
            ("home, 100", "", "/", page(seed["100"]["session"]), None),
            ("home, 10000", "<= 1.5x of 100", "/", page(seed["10000"]["session"]), None),
            ("Sync Status page, 100", "", "/sync-status/", page(seed["100"]["session"]), None),
            ("Sync Status page, 10000", "<= 1.5x of 100", "/sync-status/", page(seed["10000"]["session"]), None),
            ("bare (last)", "", "/bench/bare", {}, None),
        ]
        failed: set[str] = set()
        for label, _, path, headers, agents in rows:  # every row answers 200 before anything is measured
            if agents:
                status, body = call(port, "POST", path, {"Authorization": f"Bearer {agents}0",
                                                          "Content-Type": "application/json"}, heartbeat_body.encode())
            else:
                status, body = call(port, "GET", path, headers)
            if status != 200:  # reported in the table, not measured (e.g. a worker timeout on a slow page)
                print(f"{label}: {path} answered {status} {body[:200]!r}")
                failed.add(label)

        def script(headers: dict[str, str], agents: str | None, delay: int = 0) -> str:
            if agents:
                return (LUA_HEARTBEAT.replace("PREFIX", agents).replace("COUNT", str(seed["10000"]["syncs"]))
                        .replace("NOW", now.isoformat()).replace("DELAY", str(delay)))
            return LUA_HEADERS.replace("{HEADERS}", lua_table(headers))

        vendor = "postgresql" if admin_url else "sqlite"
        cache = "redis" if env.get("REDIS_URL") else "locmem"
        worker = f"{args.workers} workers" + (f" x {args.threads} threads (gthread)" if args.threads > 1 else " (sync)")
        print(f"gunicorn {worker}; wrk {args.connections} connections, {args.duration:g} s per row after 1 s "
              f"warm-up; {vendor} + {cache}; data seeded in {seeded_in:.1f} s; {os.cpu_count()} CPUs (shared)")
        results: list[tuple[Run, str]] = []
        for label, target, path, headers, agents in rows:
            if label in failed:
                results.append((Run(label, 0, 0, 0, 0, 1, 0), f"{target} (FAILED: not 200)"))
                drain(port)
                continue
            url = f"http://127.0.0.1:{port}{path}"
            # A target in milliseconds is one request's latency: measured with one connection, so no request waits
            # behind another in the workers' queue.
            connections = 1 if target.endswith(" ms") else args.connections
            wrk(label, url, script=script(headers, agents), connections=connections, duration=1)  # warm-up
            results.append((wrk(label, url, script=script(headers, agents), connections=connections,
                                duration=args.duration), target))
            drain(port)
        print_table(results)

        profiled = [
            ("bare", "GET", "/bench/bare", {}, None),
            ("patients per_page=100", "GET", patients, demo_api, None),
            ("appointments per_page=100", "GET", appointments, demo_api, None),
            ("procedures per_page=100", "GET", procedures, demo_api, None),
            ("sync_status 100", "GET", "/api/sync_status", api["100"], None),
            ("sync_status 10000", "GET", "/api/sync_status", api["10000"], None),
            ("heartbeat", "POST", "/synchronizer/v1/heartbeat",
             {"Authorization": f"Bearer {seed['10000']['agent_prefix']}1"}, heartbeat_body),
            ("board 1", "GET", "/institutions/", page(demo["session"]), None),
            ("board ALL 100", "GET", "/institutions/?section=all", page(seed["100"]["session"]), None),
            ("board ALL 10000", "GET", "/institutions/?section=all", page(seed["10000"]["session"]), None),
            ("home 100", "GET", "/", page(seed["100"]["session"]), None),
            ("home 10000", "GET", "/", page(seed["10000"]["session"]), None),
            ("Sync Status page 100", "GET", "/sync-status/", page(seed["100"]["session"]), None),
            ("Sync Status page 10000", "GET", "/sync-status/", page(seed["10000"]["session"]), None),
        ]
        split = run_python(env, "tests/bench/profile_split.py", json.dumps(profiled),
                           *(["--cprofile"] if args.cprofile else []))
        print_split(json.loads(split.strip().splitlines()[-1]))

        if args.mixed:
            mixed(port, args, script, seed, [patients, appointments, "/api/sync_status"], demo_api, api["100"])
    finally:
        stop_and_clean(server, admin_url, var_dir)


def mixed(port: int, args, script, seed: dict, api_paths: list[str], demo_api: dict, api_100: dict) -> None:
    """Heartbeats at 10,000 agents' rate (paced per connection) while API clients read, all at once."""
    connections = 48
    # wrk paces with a fixed delay per connection: rate = connections / (delay + latency).
    delay = max(1, int(1000 * connections / HEARTBEAT_RATE) - 4)
    url = f"http://127.0.0.1:{port}"
    api_lua = (LUA_ROTATE.replace("{PATHS}", "{" + ", ".join(f'"{p}"' for p in api_paths[:2]) + "}")
               .replace("{HEADERS}", lua_table(demo_api)).replace("DELAY", "40"))
    status_lua = LUA_ROTATE.replace("{PATHS}", '{"/api/sync_status"}').replace(
        "{HEADERS}", lua_table(api_100)).replace("DELAY", "200")
    commands = [
        ("heartbeat (target ~667/s)", script({}, seed["10000"]["agent_prefix"], delay), connections, "/"),
        ("API patients+appointments", api_lua, 4, "/"),
        ("API sync_status (100)", status_lua, 2, "/"),
    ]
    files, procs = [], []
    for label, lua, conns, _ in commands:
        file = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        file.write(lua)
        file.close()
        files.append(file.name)
        procs.append((label, subprocess.Popen(
            [wrk_path(), "-t1", f"-c{conns}", f"-d{args.mixed:g}s", "--latency", "--timeout", "30s", "-s",
             file.name, url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    runs = [parse_wrk(label, proc.communicate()[0]) for label, proc in procs]
    for name in files:
        os.unlink(name)
    print(f"\nMixed load, {args.mixed:g} s, all at once (heartbeats paced: {connections} connections, "
          f"{delay} ms between requests each)")
    print(f"{'stream':<30} {'req/s':>8} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for run in runs:
        print(f"{run.label:<30} {run.rps:>8.1f} {run.requests:>9} {run.errors:>7} {run.p50_ms:>8.2f} {run.p99_ms:>8.2f}")


def print_table(results: list[tuple[Run, str]]) -> None:
    baseline = (results[0][0].rps + results[-1][0].rps) / 2
    by_label = {run.label: run for run, _ in results}
    print(f"{'endpoint':<36} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8} {'errors':>6}  target")
    for run, target in results:
        note = target
        if target.startswith("<= 1.5x of 100"):
            small = by_label[run.label.replace("10000", "100")]
            note = f"{target}: time ratio {small.rps / run.rps:.2f}" if run.rps else f"{target}: failed"
        print(f"{run.label:<36} {run.rps:>8.1f} {run.p50_ms:>8.2f} {run.p99_ms:>8.2f} {run.rps / baseline:>7.3f}x "
              f"{run.errors:>6}  {note}")
    print(f"baseline: mean of the two bare runs, {baseline:.1f} req/s")


def print_split(split: dict[str, dict]) -> None:
    print("\nPer-request split, in process (Django test client, same database and cache), ms per request:")
    columns = ("framework", "auth", "throttle", "query", "serialize", "render", "view")
    print(f"{'request':<26} {'total':>7} {'queries':>7} " + " ".join(f"{c:>9}" for c in columns))
    for label, row in split.items():
        print(f"{label:<26} {row['total_ms']:>7.2f} {row['queries']:>7.0f} "
              + " ".join(f"{row[c]:>9.2f}" for c in columns))
    print("framework = Django's handler, middleware, DRF dispatch and the test client; view = the view's own code")


def stop_and_clean(server: subprocess.Popen | None, admin_url: str | None, var_dir: Path) -> None:
    if server is not None:
        server.terminate()  # gunicorn's master stops its workers on SIGTERM
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if admin_url:
        postgres_scratch(admin_url, create=False)
    shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
