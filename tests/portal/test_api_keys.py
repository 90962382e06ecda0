import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from portal.api_keys import api_key_authenticate
from portal.models import ApiKey, AuditEvent
from portal.services import organization_enable_production

pytestmark = pytest.mark.django_db
KEY_RE = re.compile(r"chs_(test|live)_[0-9A-Za-z]{38}")


def create(client, mode="sandbox"):
    return client.post(reverse("api_keys"), {"mode": mode, "action": "create"})


def rotate(client, grace, mode="sandbox", confirm="now"):
    return client.post(reverse("api_keys"), {"mode": mode, "action": "rotate", "grace": grace, "confirm": confirm})


def shown_key(response) -> str:
    return KEY_RE.search(response.content.decode()).group(0)


def test_it_shows_a_new_key_once(alice_client, cast):
    response = create(alice_client)

    raw = shown_key(response)
    assert raw.startswith("chs_test_")
    assert response["Cache-Control"] == "no-store"
    assert "will not be shown again" in response.content.decode()
    later = alice_client.get(reverse("api_keys")).content.decode()
    assert raw not in later
    assert raw[:17] + "…" in later
    assert AuditEvent.objects.filter(verb="api_key.created", organization=cast.acme).count() == 1


def test_the_database_keeps_no_usable_key(alice_client, cast):
    raw = shown_key(create(alice_client))

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM portal_apikey")
        rows = repr(cursor.fetchall())
        cursor.execute("SELECT * FROM portal_auditevent")
        rows += repr(cursor.fetchall())
    assert raw not in rows
    assert raw[17:] not in rows  # not even the secret part without its prefix


def test_a_key_authenticates_and_a_tampered_one_does_not(alice_client, cast):
    raw = shown_key(create(alice_client))

    assert api_key_authenticate(raw).organization == cast.acme
    flipped = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert api_key_authenticate(flipped) is None
    assert api_key_authenticate(raw[:-7] + "x" + raw[-6:]) is None
    assert api_key_authenticate("") is None


def test_one_key_per_mode(alice_client, cast):
    create(alice_client)

    response = create(alice_client)

    assert response.status_code == 400
    assert "Rotate it" in response.content.decode()
    assert ApiKey.objects.filter(organization=cast.acme).count() == 1


def test_production_keys_wait_for_production(alice_client, cast):
    assert create(alice_client, "production").status_code == 400
    assert not ApiKey.objects.filter(mode="production").exists()

    organization_enable_production(organization=cast.acme, actor=None)

    assert shown_key(create(alice_client, "production")).startswith("chs_live_")


@pytest.mark.parametrize("grace, still_works_for", [("now", None), ("1h", timedelta(hours=1)),
                                                     ("24h", timedelta(hours=24)), ("7d", timedelta(days=7))])
def test_rotation_retires_the_old_key_when_chosen(alice_client, cast, grace, still_works_for):
    old = shown_key(create(alice_client))

    new = shown_key(rotate(alice_client, grace))

    assert new != old
    assert api_key_authenticate(new) is not None
    if still_works_for is None:
        assert api_key_authenticate(old) is None
    else:
        with time_machine.travel(timezone.now() + still_works_for - timedelta(minutes=1)):
            assert api_key_authenticate(old) is not None
        with time_machine.travel(timezone.now() + still_works_for + timedelta(minutes=1)):
            assert api_key_authenticate(old) is None
            assert api_key_authenticate(new) is not None
    event = AuditEvent.objects.get(verb="api_key.rotated")
    assert event.details["old_key_stops"] == grace


def test_rotation_needs_a_grace_choice(alice_client, cast):
    old = shown_key(create(alice_client))

    response = rotate(alice_client, "forever")

    assert response.status_code == 400
    assert api_key_authenticate(old) is not None
    assert ApiKey.objects.count() == 1


def test_rotating_now_without_the_confirmation_asks_first_and_keeps_the_key(alice_client, cast):
    organization_enable_production(organization=cast.acme, actor=None)
    old = shown_key(create(alice_client, "production"))

    response = rotate(alice_client, "now", mode="production", confirm="")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Every production integration using this key stops now" in page
    assert api_key_authenticate(old) is not None
    assert ApiKey.objects.count() == 1


def test_members_cannot_see_or_manage_keys(bob_client, cast):
    assert bob_client.get(reverse("api_keys")).status_code == 403
    assert create(bob_client).status_code == 403
    assert not ApiKey.objects.exists()
    assert 'href="/api-keys/"' not in bob_client.get(reverse("home")).content.decode()


def test_seed_demo_prints_a_fresh_sandbox_key_last(capsys):
    from django.core.management import call_command

    call_command("seed_demo", email="demo@example.com", password="a-long-unusual-passphrase")
    first = capsys.readouterr().out.strip().splitlines()[-1]
    call_command("seed_demo", email="demo@example.com", password="a-long-unusual-passphrase")
    second = capsys.readouterr().out.strip().splitlines()[-1]

    assert first.startswith("API_KEY=chs_test_") and second.startswith("API_KEY=chs_test_")
    assert api_key_authenticate(first.removeprefix("API_KEY=")) is None
    assert api_key_authenticate(second.removeprefix("API_KEY=")).organization.name == "Example"
