"""A standing cast, set up once per test: Alice (admin) and Bob (developer) of Acme; Olivia, admin of Other Co.
Every cast member's email address is verified (tests of unverified addresses make their own users)."""

import os
from dataclasses import dataclass

import pytest
from django.test import Client

from portal.celery import app as celery_app
from portal.models import Membership, Organization, Role, User
from portal.services import organization_create
from tests.factories import MembershipFactory, UserFactory

PASSWORD = "correct-horse-battery"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_service(name: str, available: bool, why: str = "") -> None:
    """Skip locally when a real service is missing; in CI a missing service is a failure, never a skip."""
    if available:
        return
    message = f"{name} is not available{': ' + why if why else ''}"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Cast:
    acme: Organization
    other: Organization
    alice: User
    bob: User
    olivia: User

    @property
    def alice_membership(self) -> Membership:
        return Membership.objects.select_related("organization", "user").get(user=self.alice, organization=self.acme)

    @property
    def bob_membership(self) -> Membership:
        return Membership.objects.select_related("organization", "user").get(user=self.bob, organization=self.acme)

    @property
    def olivia_membership(self) -> Membership:
        return Membership.objects.select_related("organization", "user").get(user=self.olivia, organization=self.other)


@pytest.fixture
def cast(db) -> Cast:
    alice = UserFactory(email="alice@acme.example")
    acme = organization_create(name="Acme Dental Apps", admin=alice)
    bob = UserFactory(email="bob@acme.example")
    MembershipFactory(user=bob, organization=acme, role=Role.DEVELOPER)
    olivia = UserFactory(email="olivia@other.example")
    other = organization_create(name="Other Co", admin=olivia)
    return Cast(acme=acme, other=other, alice=alice, bob=bob, olivia=olivia)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(cast) -> Client:
    return client_for(cast.alice)


@pytest.fixture
def bob_client(cast) -> Client:
    return client_for(cast.bob)


@pytest.fixture
def olivia_client(cast) -> Client:
    return client_for(cast.olivia)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters live in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def celery_broker():
    """Point the Celery app at another broker for one test, with its own connection pools."""
    previous = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager", "task_default_queue")}
    saved_pools = (celery_app._pool, celery_app.amqp._producer_pool)

    def use(url: str, **conf) -> None:
        celery_app.conf.update(broker_url=url, task_always_eager=False, **conf)
        celery_app._pool, celery_app.amqp._producer_pool = None, None

    yield use
    # No force_close_all(): kombu shares pools per broker URL process-wide (even eager mode takes a
    # producer from one), so closing one here would break every later test that uses the same URL.
    celery_app.conf.update(previous)
    celery_app._pool, celery_app.amqp._producer_pool = saved_pools


@pytest.fixture
def rate_window_frozen(monkeypatch):
    """Rate budgets count per clock minute: a test that fills one must not run across a minute boundary."""
    from types import SimpleNamespace

    from portal.api import throttling

    start = throttling.time.time()
    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=lambda: start))


@pytest.fixture(autouse=True)
def board_figures_stay_derived(request):
    """After every database test, each stored board figure equals its rule (institutions.board): a write path that
    changes a sync's status, an access or a location without refreshing them fails here."""
    # pytest-django's own database fixture (a test may name an unrelated fixture `db`): set up first, so it is
    # torn down after the check below.
    if not (request.node.get_closest_marker("django_db") or "_django_db_helper" in request.fixturenames):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    yield
    from institutions.board import board_sections_stale, live_locations_stale

    stale = list(board_sections_stale().values_list("organization__name", "institution__name", "board_section",
                                                    "derived"))
    assert not stale, f"stored board sections differ from the rule (organization, institution, stored, derived): {stale}"
    counts = list(live_locations_stale().values_list("name", "live_locations", "derived"))
    assert not counts, f"stored live-location counts differ from the rule (institution, stored, derived): {counts}"
