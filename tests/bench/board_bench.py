"""Board benchmark: render the Institutions tab for 10,000 institutions and for 100, and print the ratio.

Run with `make bench`. It uses a throwaway SQLite database (or DATABASE_URL), the Django test client, and
the real view, template and selector; the per-row work is the part that grows with the organization.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="chairside-board-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.test.runner import DiscoverRunner  # noqa: E402


def populate(organization, count: int, offset: int) -> None:
    from institutions.models import Institution, InstitutionAccess
    from syncs.models import Sync, SyncStatus

    statuses = [SyncStatus.AWAITING_INSTALL, SyncStatus.CREDENTIALS_SUBMITTED, SyncStatus.ACTIVE, SyncStatus.FAILED]
    institutions = Institution.objects.bulk_create(
        Institution(name=f"Practice {offset + n:05d}", subdomain=f"practice-{offset + n}", city="Austin", state="TX")
        for n in range(count))
    InstitutionAccess.objects.bulk_create(
        InstitutionAccess(organization=organization, institution=i, via="created") for i in institutions)
    Sync.objects.bulk_create(
        Sync(institution=i, ehr="opendental", status=statuses[n % len(statuses)]) for n, i in enumerate(institutions))


def timed(client: Client, runs: int = 15) -> float:
    for _ in range(3):
        client.get("/institutions/", {"section": "all"})
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/institutions/", {"section": "all"})
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200
    return statistics.median(samples)


def main() -> None:
    setup_test_environment()
    runner = DiscoverRunner(verbosity=0, interactive=False)
    databases = runner.setup_databases()
    try:
        from portal.models import User
        from portal.services import organization_create, organization_enable_production

        user = User.objects.create_user(email="bench@example.com", password="x-long-password")
        organization = organization_create(name="Bench", admin=user)
        organization_enable_production(organization=organization, actor=None)
        user.memberships.update(test_mode=False)
        client = Client()
        client.force_login(user)

        populate(organization, 100, 0)
        small = timed(client)
        populate(organization, 9_900, 100)
        large = timed(client)
        print("Board (ALL section, first page of 25) rendered by the real view")
        print(f"{'institutions':>14} {'median ms':>10}")
        print(f"{100:>14} {small * 1000:>10.1f}")
        print(f"{10_000:>14} {large * 1000:>10.1f}")
        print(f"ratio 10,000 / 100: {large / small:.2f}x")
    finally:
        runner.teardown_databases(databases)


if __name__ == "__main__":
    main()
