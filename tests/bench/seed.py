"""Data for the HTTP benchmark, written in a child process under the bench settings (bulk_create: seconds).

`python tests/bench/seed.py` prints one JSON object: the API keys, the session cookies of the portal users, the
ids the requests need and the agent token prefix. Three organizations:
- "Bench Demo": `seed_demo`'s sandbox (patients, appointments; the board in test mode shows its 1 institution);
- "Bench 100" and "Bench 10000": production organizations reaching 100 and 10,000 institutions, each with one
  active sync (agent token AGENT_PREFIX<org>-<n>) and one active location.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AGENT_PREFIX = "chs_agent_bench_"
SIZES = (100, 10_000)


def session_cookie(user) -> str:
    """A signed-in session for `user`, as `login()` would store it (the benchmark never posts the sign-in form)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def production_organization(count: int) -> dict:
    from django.utils import timezone

    from institutions.board import board_sections_refresh_for, live_locations_refresh
    from institutions.models import Institution, InstitutionAccess, Location
    from portal.api_keys import api_key_create
    from portal.crypto import fingerprint
    from portal.models import User
    from portal.services import organization_create, organization_enable_production
    from syncs.models import Sync, SyncStatus

    now = timezone.now()
    user = User.objects.create_user(email=f"bench-{count}@chairside.local", password="bench-password-1")
    user.emailaddress_set.create(email=user.email, verified=True, primary=True)
    organization = organization_create(name=f"Bench {count}", admin=user)
    organization_enable_production(organization=organization, actor=user)
    user.memberships.update(test_mode=False)
    issued = api_key_create(actor_membership=user.memberships.get(), mode="production")
    institutions = Institution.objects.bulk_create(
        (Institution(name=f"Bench {count} Practice {n:05d}", subdomain=f"bench-{count}-{n}", city="Austin",
                     state="TX", is_sandbox=False) for n in range(count)), batch_size=2000)
    InstitutionAccess.objects.bulk_create(
        (InstitutionAccess(organization=organization, institution=i, via=InstitutionAccess.Via.CREATED)
         for i in institutions), batch_size=2000)
    syncs = Sync.objects.bulk_create(
        (Sync(institution=i, ehr="opendental", status=SyncStatus.ACTIVE, activated_at=now, agent_version="1.0.0",
              agent_token_hash=fingerprint(f"{AGENT_PREFIX}{count}-{n}"), last_read_at=now, last_write_at=now)
         for n, i in enumerate(institutions)), batch_size=2000)
    board_sections_refresh_for(i.pk for i in institutions)  # bulk_create skips the receivers
    Location.objects.bulk_create(
        (Location(institution=s.institution, sync=s, name=f"Bench Office {n:05d}", foreign_id=str(n),
                  foreign_id_type="msg-opendental", active=True) for n, s in enumerate(syncs)), batch_size=2000)
    live_locations_refresh(i.pk for i in institutions)
    return {"api_key": issued.raw, "session": session_cookie(user), "agent_prefix": f"{AGENT_PREFIX}{count}-",
            "syncs": count}


def seed() -> dict:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from institutions.models import Institution, Location
    from portal.models import User

    out = io.StringIO()
    call_command("seed_demo", "--email", "bench@chairside.local", "--password", "bench-password-1", stdout=out)
    demo_user = User.objects.get(email="bench@chairside.local")
    sandbox = Institution.objects.get(is_sandbox=True, accesses__organization__memberships__user=demo_user)
    location = Location.objects.filter(institution=sandbox).order_by("id").first()
    data = {"demo": {"api_key": out.getvalue().strip().splitlines()[-1].removeprefix("API_KEY="),
                     "session": session_cookie(demo_user), "subdomain": sandbox.subdomain,
                     "location_id": location.pk}}
    with transaction.atomic():
        for count in SIZES:
            data[str(count)] = production_organization(count)
    return data


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.bench.settings")
    print(json.dumps(seed()))
