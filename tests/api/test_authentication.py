import logging
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from portal.api_keys import api_key_create, api_key_rotate
from portal.models import ApiKey
from portal.services import organization_enable_production
from tests.api.conftest import Api, token_for

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, fragment: str = "") -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] is False
    assert body["data"] is None
    assert isinstance(body["error"], list) and body["error"]
    assert isinstance(body["description"], str)
    if fragment:
        assert any(fragment in message for message in body["error"]), body["error"]
    return body


def test_it_trades_a_key_for_a_bearer_token(sandbox_key):
    response = Client().post("/api/authenticates", HTTP_AUTHORIZATION=sandbox_key.raw)

    assert response.status_code == 201
    body = response.json()
    assert body["code"] is True and body["error"] == []
    assert body["data"]["token"].count(".") == 2


@pytest.mark.parametrize("header", ["", "chs_test_nope", "Bearer whatever", "chs_test_" + "A" * 38])
def test_a_bad_key_gets_401_in_the_envelope(db, header):
    response = Client().post("/api/authenticates", HTTP_AUTHORIZATION=header)

    assert_error(response, 401, "invalid")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_failed_key_attempts_are_rate_limited_per_address(db, settings, sandbox_key, rate_window_frozen):
    settings.API_FAILED_KEY_LIMIT = 3
    client = Client()
    for _ in range(3):
        assert client.post("/api/authenticates", HTTP_AUTHORIZATION="chs_test_wrong").status_code == 401

    blocked = client.post("/api/authenticates", HTTP_AUTHORIZATION=sandbox_key.raw)

    assert_error(blocked, 429, "Too many failed attempts")
    assert int(blocked["Retry-After"]) > 0
    other_address = Client(REMOTE_ADDR="10.0.0.9").post("/api/authenticates", HTTP_AUTHORIZATION=sandbox_key.raw)
    assert other_address.status_code == 201


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not.a.jwt", "Token abc", "Bearer eyJhbGciOiJub25lIn0.e30."])
def test_endpoints_need_a_valid_bearer_token(api, header):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = Client().get("/api/institutions", **extra)

    assert_error(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_sandbox_token_lasts_24_hours(api):
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59)):
        assert api.get("institutions").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        assert_error(api.get("institutions"), 401, "expired")


def test_a_production_token_lasts_1_hour(cast, sandbox):
    organization_enable_production(organization=cast.acme, actor=None)
    production = api_key_create(actor_membership=cast.alice_membership, mode=ApiKey.Mode.PRODUCTION)
    api = Api(client=Client(), token=token_for(production.raw), subdomain=sandbox.subdomain)

    with time_machine.travel(timezone.now() + timedelta(minutes=59)):
        assert api.get("institutions").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert_error(api.get("institutions"), 401, "expired")


@pytest.mark.parametrize("grace, alive_for", [("now", None), ("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)),
                                              ("7d", timedelta(days=7))])
def test_rotation_ends_old_tokens_after_the_grace_window(api, cast, grace, alive_for):
    new = api_key_rotate(actor_membership=cast.alice_membership, mode="sandbox", grace=grace)

    if alive_for is None:
        assert_error(api.get("institutions"), 401, "revoked or rotated")
    else:
        # Tokens are minted for 24 hours; the key's own deadline cuts them short.
        short = min(alive_for, timedelta(hours=23))
        with time_machine.travel(timezone.now() + short - timedelta(minutes=1)):
            assert api.get("institutions").status_code == 200
        with time_machine.travel(timezone.now() + alive_for + timedelta(minutes=1)):
            assert api.get("institutions").status_code == 401
    assert Client().post("/api/authenticates", HTTP_AUTHORIZATION=new.raw).status_code == 201


def test_the_key_is_nowhere_in_logs(sandbox_key, caplog):
    caplog.set_level(logging.DEBUG)

    Client().post("/api/authenticates", HTTP_AUTHORIZATION=sandbox_key.raw)
    Client().post("/api/authenticates", HTTP_AUTHORIZATION=sandbox_key.raw[:-1] + "x")
    Client().get(f"/api/nothing-here/{sandbox_key.raw}")

    logged = "\n".join(record.getMessage() for record in caplog.records)
    from portal.logging import redact

    assert sandbox_key.raw not in redact(logged)
    assert sandbox_key.raw[9:] not in redact(logged)


def test_unknown_api_paths_answer_404_in_the_envelope(db):
    assert_error(Client().get("/api/nothing-here"), 404, "no API endpoint")


def test_the_last_use_of_a_key_is_recorded(api, sandbox_key):
    api.get("institutions")

    assert ApiKey.objects.get(pk=sandbox_key.api_key.pk).last_used_at is not None


def test_a_bearer_request_reads_its_key_from_the_cache_not_the_database(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api.get("institutions")  # reads the key and records its use (then caches the row as it is now)
    with CaptureQueriesContext(connection) as queries:
        assert api.get("institutions").status_code == 200

    assert not [q["sql"] for q in queries if ApiKey._meta.db_table in q["sql"]]


@pytest.mark.parametrize("revoke", ["rotate now", "edit the row (admin)", "seed_demo's replacement"])
def test_a_revoked_key_stops_at_once_even_while_its_state_is_cached(api, cast, sandbox_key, revoke):
    from portal.api_keys import api_key_replace_for_demo

    assert api.get("institutions").status_code == 200  # cached now
    if revoke == "rotate now":
        api_key_rotate(actor_membership=cast.alice_membership, mode="sandbox", grace="now")
    elif revoke == "edit the row (admin)":
        key = ApiKey.objects.get(pk=sandbox_key.api_key.pk)
        key.revoked_at = timezone.now()
        key.save()
    else:
        api_key_replace_for_demo(organization=sandbox_key.api_key.organization, created_by=None)

    assert_error(api.get("institutions"), 401, "revoked or rotated")


def test_recording_a_keys_use_never_puts_back_a_copy_older_than_its_revocation(sandbox_key):
    from portal.api_keys import api_key_for_token, api_key_touch

    public_id = str(sandbox_key.api_key.public_id)
    held = api_key_for_token(public_id)  # a request holds the key's copy...
    ApiKey.objects.filter(pk=held.pk).update(revoked_at=timezone.now())  # ...while it is revoked elsewhere
    ApiKey.objects.get(pk=held.pk).save()  # (the revocation's save forgets the cached copy)

    api_key_touch(held, now=timezone.now() + timedelta(minutes=5))  # the request then records its use

    assert not api_key_for_token(public_id).is_usable()
