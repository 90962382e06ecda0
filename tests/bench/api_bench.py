"""API throughput benchmark (`make bench`): not a test, it prints numbers and ratios, never pass/fail thresholds.

Serves the project with gunicorn on a fresh database filled by `seed_demo`, then measures requests per second of
GET /api/patients?per_page=100, GET /api/procedures?per_page=100 (a ledger list) and GET /api/sync_status against a bare Django JSON view (/bench/bare) on the same
server in the same run. The bare view is measured first and last and the mean is the baseline, because the machine
may be shared and drift during the run; ratios to that baseline are what to compare across changes.

Usage: python tests/bench/api_bench.py [--workers 2] [--clients 4] [--duration 8] [--warmup 1]
Database: SQLite in a temporary VAR_DIR, or, if DATABASE_URL is set (PostgreSQL), a scratch database named
chairside_bench on that server, created and dropped here (the user needs CREATEDB).
Exits non-zero only if the server does not start or answers something other than 200.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's bin: gunicorn is installed next to its python
BENCH_DB = "chairside_bench"
API_VERSION = "v20240412"
PER_PAGE = 100


@dataclass(frozen=True)
class Sample:
    """One client's tally for one endpoint."""

    count: int
    latency: float  # seconds, summed over the counted requests
    error: str | None = None  # the first non-200 answer, if any


@dataclass(frozen=True)
class Result:
    label: str
    rps: float
    mean_ms: float


def drive(port: int, path: str, headers: dict[str, str], start_at: float, stop_at: float) -> Sample:
    """Send requests back to back on one connection until stop_at; count those that both began and ended in
    [start_at, stop_at], so warm-up and the request straddling the end are left out.
    time.monotonic() is system-wide on Linux, so deadlines computed in the parent hold in this process."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    count, latency = 0, 0.0
    try:
        while (began := time.monotonic()) < stop_at:
            # Keep-alive when the worker allows it; http.client reconnects by itself after `Connection: close`.
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            ended = time.monotonic()
            if response.status != 200:
                return Sample(count, latency, f"{response.status} {body[:300]!r}")
            if began >= start_at and ended <= stop_at:
                count += 1
                latency += ended - began
    finally:
        conn.close()
    return Sample(count, latency)


def measure(pool: ProcessPoolExecutor, clients: int, port: int, label: str, path: str, headers: dict[str, str],
            warmup: float, duration: float) -> Result:
    # A little slack before warm-up so every client is already running when the window opens.
    start_at = time.monotonic() + 0.2 + warmup
    stop_at = start_at + duration
    samples = [f.result() for f in [pool.submit(drive, port, path, headers, start_at, stop_at) for _ in range(clients)]]
    errors = [s.error for s in samples if s.error]
    if errors:
        raise SystemExit(f"GET {path} answered {errors[0]}")
    count = sum(s.count for s in samples)
    if count == 0:
        raise SystemExit(f"GET {path}: no request completed within {duration} s")
    return Result(label, count / duration, 1000 * sum(s.latency for s in samples) / count)


def call(port: int, method: str, path: str, headers: dict[str, str]) -> dict:
    """One request for setup (token, location ids); anything but 2xx stops the benchmark."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if not 200 <= response.status < 300:
        raise SystemExit(f"{method} {path} answered {response.status} {body[:300]!r}")
    return json.loads(body)


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"manage.py {args[0]} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(server: subprocess.Popen, port: int, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                conn.request("GET", "/bench/bare")
                if conn.getresponse().status == 200:
                    return
            finally:
                conn.close()
        except OSError:
            time.sleep(0.2)  # not listening yet
    raise SystemExit(f"gunicorn did not start:\n{log.read_text()[-3000:]}")


def postgres_scratch(admin_url: str, *, create: bool) -> None:
    """(Re)create or drop the scratch database, connected through the database DATABASE_URL names."""
    import psycopg  # only needed with PostgreSQL

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client processes, one connection each")
    parser.add_argument("--duration", type=float, default=8, help="measured seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=1, help="unmeasured seconds before each measurement")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="chairside-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.bench.settings",
        "DJANGO_ENV": "local",  # production settings would redirect plain HTTP to HTTPS
        "VAR_DIR": str(var_dir),  # the SQLite file (by default) and any files land here, not in var/
        "EMAIL_URL": "memory://",
        "SANDBOX_SAMPLE_DATA": "true",  # seed_demo fills the sandbox: ~120 patients per location
    }
    admin_url = os.environ.get("DATABASE_URL", "")
    if admin_url:
        parts = urlsplit(admin_url)
        if parts.scheme not in {"postgres", "postgresql"}:
            raise SystemExit("DATABASE_URL must be PostgreSQL (or unset for SQLite)")
        # Same server and credentials, other database. (Not urlunsplit: it drops the // of postgresql:///name.)
        env["DATABASE_URL"] = f"{parts.scheme}://{parts.netloc}/{BENCH_DB}" + (f"?{parts.query}" if parts.query else "")
    server: subprocess.Popen | None = None
    try:
        if admin_url:
            postgres_scratch(admin_url, create=True)
        manage(env, "migrate", "--noinput")
        api_key = manage(env, "seed_demo", "--email", "bench@chairside.local", "--password", "bench-password-1")
        api_key = api_key.strip().splitlines()[-1].removeprefix("API_KEY=")

        port = free_port()
        log = var_dir / "gunicorn.log"
        with log.open("w") as log_file:
            server = subprocess.Popen(
                [str(BIN / "gunicorn"), "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(args.workers), "--log-level", "warning", "--chdir", str(ROOT)],
                cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            )
        wait_ready(server, port, log)

        token = call(port, "POST", "/api/authenticates", {"Authorization": api_key, "Nex-Api-Version": API_VERSION})
        headers = {"Authorization": f"Bearer {token['data']['token']}", "Nex-Api-Version": API_VERSION}
        institution = call(port, "GET", "/api/locations", headers)["data"][0]
        query = urlencode({"subdomain": institution["subdomain"], "location_id": institution["locations"][0]["id"],
                           "per_page": PER_PAGE})
        patients = f"/api/patients?{query}"
        procedures = f"/api/procedures?{query}"
        page_size = len(call(port, "GET", patients, headers)["data"])

        plan = [("GET /bench/bare (first)", "/bench/bare", {}),
                (f"GET /api/patients?per_page={PER_PAGE}", patients, headers),
                (f"GET /api/procedures?per_page={PER_PAGE}", procedures, headers),
                ("GET /api/sync_status", "/api/sync_status", headers),
                ("GET /bench/bare (last)", "/bench/bare", {})]
        vendor = "postgresql" if admin_url else "sqlite"
        print(f"gunicorn {args.workers} sync workers, {args.clients} clients, {args.duration:g} s per endpoint "
              f"after {args.warmup:g} s warm-up, {vendor}, {page_size} patients per page")
        with ProcessPoolExecutor(args.clients) as pool:
            # Prime every endpoint first (worker imports, DB connections, OS caches) so the first bare run is not
            # measured against a cold server while the last one is measured against a warm one.
            for label, path, h in plan[:-1]:
                measure(pool, args.clients, port, label, path, h, args.warmup, 0.5)
            results = [measure(pool, args.clients, port, label, path, h, args.warmup, args.duration)
                       for label, path, h in plan]
    finally:
        stop_and_clean(server, admin_url, var_dir)
    print_ratios(results)


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


def print_ratios(results: list, label_width: int = 34, ratio_digits: int = 2) -> None:
    """Each endpoint against the mean of the first and last bare runs (the machine is shared: both ends count)."""
    baseline = (results[0].rps + results[-1].rps) / 2
    print(f"{'endpoint':<{label_width}} {'req/s':>8} {'mean ms':>9} {'vs bare':>8}")
    for r in results:
        print(f"{r.label:<{label_width}} {r.rps:>8.1f} {r.mean_ms:>9.2f} {r.rps / baseline:>7.{ratio_digits}f}x")
    print(f"baseline: mean of the two bare runs, {baseline:.1f} req/s")


if __name__ == "__main__":
    main()
