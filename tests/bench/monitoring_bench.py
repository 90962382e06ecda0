"""Monitoring throughput benchmark (`make bench`): not a test, it prints numbers and ratios, never pass/fail thresholds.

Serves the project with gunicorn on a fresh database holding one production organization with 10,000 active syncs
(one institution, one active location and one known agent token each), then measures requests per second of
POST /synchronizer/v1/heartbeat (the clients rotate through all the agents' tokens) and of GET /api/sync_status
(all 10,000 rows in one answer) against the bare Django JSON view (/bench/bare) on the same server in the same run.
As in api_bench.py, the bare view is measured first and last and the mean of the two is the baseline.

Usage: python tests/bench/monitoring_bench.py [--syncs 10000] [--workers 2] [--clients 4] [--duration 6] [--warmup 1]
Database: as api_bench.py (temporary SQLite, or a scratch PostgreSQL database if DATABASE_URL is set).
The data is written by this same file run as `--seed N` under the bench settings, with bulk_create: seconds.
Exits non-zero only if the server does not start or answers something other than 200.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))  # api_bench, next to this file

from api_bench import (
    BENCH_DB,
    BIN,
    ROOT,
    Result,
    call,
    free_port,
    manage,
    postgres_scratch,
    print_ratios,
    stop_and_clean,
    wait_ready,
)

TOKEN_PREFIX = "chs_agent_bench_"
EMAIL = "monitoring-bench@chairside.local"


# --- data (run in a child process with the bench settings) ---------------------------------------------------

def seed(count: int) -> None:
    """One production organization reaching `count` institutions, each with one active sync (agent token
    TOKEN_PREFIX<n>) and one active location. Prints the production API key last, as API_KEY=..."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone as dj_timezone

    from institutions.models import Institution, InstitutionAccess, Location
    from portal.api_keys import api_key_create
    from portal.models import User
    from portal.services import organization_create, organization_enable_production
    from portal.crypto import fingerprint
    from syncs.models import Sync, SyncStatus

    now = dj_timezone.now()
    with transaction.atomic():
        user = User.objects.create_user(email=EMAIL, password="bench-password-1")
        organization = organization_create(name="Monitoring Bench", admin=user)
        organization_enable_production(organization=organization, actor=user)
        issued = api_key_create(actor_membership=user.memberships.get(), mode="production")
        institutions = Institution.objects.bulk_create(
            (Institution(name=f"Bench Practice {n:05d}", subdomain=f"bench-practice-{n}", city="Austin", state="TX",
                         is_sandbox=False) for n in range(count)), batch_size=2000)
        InstitutionAccess.objects.bulk_create(
            (InstitutionAccess(organization=organization, institution=i, via=InstitutionAccess.Via.CREATED)
             for i in institutions), batch_size=2000)
        syncs = Sync.objects.bulk_create(
            (Sync(institution=i, ehr="opendental", status=SyncStatus.ACTIVE, activated_at=now, agent_version="1.0.0",
                  agent_token_hash=fingerprint(f"{TOKEN_PREFIX}{n}"), last_read_at=now, last_write_at=now)
             for n, i in enumerate(institutions)), batch_size=2000)
        Location.objects.bulk_create(
            (Location(institution=s.institution, sync=s, name=f"Bench Office {n:05d}", foreign_id=str(n),
                      foreign_id_type="msg-opendental", active=True) for n, s in enumerate(syncs)), batch_size=2000)
    print(f"API_KEY={issued.raw}")


# --- load ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tally:
    """One client's tally for one endpoint (api_bench.Sample, with fractional counts)."""

    count: float  # requests, each counted for the share of it inside the window
    latency: float  # seconds, weighted alike
    error: str | None = None  # the first non-200 answer, if any


@dataclass(frozen=True)
class Plan:
    """What one client sends: `headers` in turn (one per agent for the heartbeat), with a JSON body if `json_body`."""

    method: str
    path: str
    headers: tuple[dict[str, str], ...]
    json_body: bool = False


def heartbeat_body() -> bytes:
    now = datetime.now(UTC).isoformat()
    return json.dumps({"last_read_at": now, "last_write_at": now, "agent_version": "1.0.0",
                       "host": {"free_disk_mb": 51200, "pending_reboot": False}}).encode()


def drive(port: int, plan: Plan, start_at: float, stop_at: float) -> Tally:
    """api_bench.drive, but any method, a fresh body per request and headers rotating per request, and each request
    counted for the share of it that lies inside [start_at, stop_at] (its latency weighted alike). One answer of
    /api/sync_status for 10,000 syncs takes seconds, longer than the window under load, so api_bench's rule
    (count only requests both begun and ended inside) would count none; for millisecond requests both agree."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    count, latency, turn = 0.0, 0.0, 0
    try:
        while (began := time.monotonic()) < stop_at:
            headers = plan.headers[turn % len(plan.headers)]
            turn += 1
            conn.request(plan.method, plan.path, body=heartbeat_body() if plan.json_body else None, headers=headers)
            response = conn.getresponse()
            body = response.read()
            ended = time.monotonic()
            if response.status != 200:
                return Tally(count, latency, f"{response.status} {body[:300]!r}")
            inside = max(0.0, min(ended, stop_at) - max(began, start_at))
            if inside > 0:
                share = inside / (ended - began)
                count += share
                latency += share * (ended - began)
    finally:
        conn.close()
    return Tally(count, latency)


def measure(pool: ProcessPoolExecutor, clients: list[Plan], port: int, label: str, warmup: float,
            duration: float) -> Result:
    start_at = time.monotonic() + 0.2 + warmup
    stop_at = start_at + duration
    samples = [f.result() for f in [pool.submit(drive, port, plan, start_at, stop_at) for plan in clients]]
    errors = [s.error for s in samples if s.error]
    if errors:
        raise SystemExit(f"{label} answered {errors[0]}")
    count = sum(s.count for s in samples)
    return Result(label, count / duration, 1000 * sum(s.latency for s in samples) / count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--syncs", type=int, default=10_000, help="active syncs (agents) of the organization")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client processes, one connection each")
    parser.add_argument("--duration", type=float, default=6, help="measured seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=1, help="unmeasured seconds before each measurement")
    parser.add_argument("--seed", type=int, metavar="N", help=argparse.SUPPRESS)  # internal: write the data and exit
    args = parser.parse_args()
    if args.seed is not None:
        seed(args.seed)
        return

    var_dir = Path(tempfile.mkdtemp(prefix="chairside-monitoring-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.bench.settings",
        "DJANGO_ENV": "local",
        "VAR_DIR": str(var_dir),
        "EMAIL_URL": "memory://",
    }
    admin_url = os.environ.get("DATABASE_URL", "")
    if admin_url:
        parts = urlsplit(admin_url)
        if parts.scheme not in {"postgres", "postgresql"}:
            raise SystemExit("DATABASE_URL must be PostgreSQL (or unset for SQLite)")
        env["DATABASE_URL"] = f"{parts.scheme}://{parts.netloc}/{BENCH_DB}" + (f"?{parts.query}" if parts.query else "")
    server: subprocess.Popen | None = None
    try:
        if admin_url:
            postgres_scratch(admin_url, create=True)
        manage(env, "migrate", "--noinput")
        seeded = time.monotonic()
        done = subprocess.run([sys.executable, __file__, "--seed", str(args.syncs)], check=False, cwd=ROOT, env=env,
                              capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"seeding failed:\n{done.stdout}{done.stderr}")
        seeded = time.monotonic() - seeded
        api_key = done.stdout.strip().splitlines()[-1].removeprefix("API_KEY=")

        port = free_port()
        log = var_dir / "gunicorn.log"
        with log.open("w") as log_file:
            server = subprocess.Popen(
                [str(BIN / "gunicorn"), "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(args.workers), "--log-level", "warning", "--chdir", str(ROOT)],
                cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            )
        wait_ready(server, port, log)

        token = call(port, "POST", "/api/authenticates", {"Authorization": api_key})
        api_headers = {"Authorization": f"Bearer {token['data']['token']}"}
        alone = time.monotonic()
        status = call(port, "GET", "/api/sync_status", api_headers)
        alone = time.monotonic() - alone
        if status.get("count") != args.syncs:
            raise SystemExit(f"GET /api/sync_status: expected {args.syncs} rows, got {status.get('count')}")

        def single(method: str, path: str, headers: dict[str, str]) -> list[Plan]:
            return [Plan(method, path, (headers,))] * args.clients

        # Client k sends agents k, k + clients, k + 2 * clients, ...: every agent in turn, no two clients alike.
        agents = [{"Authorization": f"Bearer {TOKEN_PREFIX}{n}", "Content-Type": "application/json"}
                  for n in range(args.syncs)]
        heartbeat = [Plan("POST", "/synchronizer/v1/heartbeat", tuple(agents[k::args.clients]), json_body=True)
                     for k in range(args.clients)]
        plan = [("GET /bench/bare (first)", single("GET", "/bench/bare", {})),
                ("POST /synchronizer/v1/heartbeat", heartbeat),
                (f"GET /api/sync_status ({args.syncs} rows)", single("GET", "/api/sync_status", api_headers)),
                ("GET /bench/bare (last)", single("GET", "/bench/bare", {}))]
        vendor = "postgresql" if admin_url else "sqlite"
        print(f"gunicorn {args.workers} sync workers, {args.clients} clients, {args.duration:g} s per endpoint "
              f"after {args.warmup:g} s warm-up, {vendor}, {args.syncs} active syncs seeded in {seeded:.1f} s, "
              f"one sync_status answer: {len(json.dumps(status)) / 1e6:.1f} MB in {alone:.2f} s (cold, alone)")
        with ProcessPoolExecutor(args.clients) as pool:
            for label, clients in plan[:-1]:  # prime every endpoint (see api_bench.py)
                measure(pool, clients, port, label, args.warmup, 0.5)
            results = [measure(pool, clients, port, label, args.warmup, args.duration) for label, clients in plan]
    finally:
        stop_and_clean(server, admin_url, var_dir)
    print_ratios(results, label_width=38, ratio_digits=4)


if __name__ == "__main__":
    main()
