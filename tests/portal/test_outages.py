"""Faults against real services, bounded: a private Redis (killed, then frozen) and an unavailable database."""

import shutil
import signal
import socket
import subprocess
import time
from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client, override_settings
from django.urls import reverse

from portal.api_keys import api_key_create
from portal.models import Invitation, OutboundEmail
from tests.conftest import PASSWORD, require_service

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of our own on a free port, so an outage never touches the shared one on 6379."""
    binary = shutil.which("redis-server")
    require_service("redis-server", binary is not None, "install redis-server")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("the private redis-server did not start")
    try:
        yield process, f"redis://127.0.0.1:{port}/0"
    finally:
        process.send_signal(signal.SIGCONT)
        process.kill()
        process.wait(timeout=10)


def redis_cache(url: str) -> dict:
    return {"default": {"BACKEND": "portal.cache.ResilientRedisCache", "LOCATION": url,
                        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}


def outage(process, kind: str) -> None:
    if kind == "stopped":
        process.kill()
        process.wait(timeout=10)
    else:
        process.send_signal(signal.SIGSTOP)


@pytest.mark.parametrize("kind", ["stopped", "frozen"])
def test_sign_in_token_renewal_activation_and_invites_work_while_redis_is_down(
        cast, private_redis, celery_broker, kind, caplog):
    process, url = private_redis
    key = api_key_create(actor_membership=cast.alice_membership, mode="sandbox").raw
    with override_settings(CACHES=redis_cache(url)):
        assert Client().post(reverse("account_login"), {"login": "bob@acme.example", "password": "wrong"}).status_code == 200
        outage(process, kind)
        celery_broker(url)  # the broker is that Redis too: the invitation's task cannot be published
        started = time.monotonic()

        signed_in = Client()
        login = signed_in.post(reverse("account_login"), {"login": "alice@acme.example", "password": PASSWORD})
        renewed = Client().post("/api/authenticates", HTTP_AUTHORIZATION=key)
        refused = Client().post("/api/authenticates", HTTP_AUTHORIZATION="chs_test_" + "x" * 38)
        activation = Client().post("/synchronizer/v1/activate", {"product_key": "CHS-AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"},
                                   content_type="application/json")
        invite = signed_in.post(reverse("invite"), {"email": "during-outage@example.com", "role": "developer"})
        elapsed = time.monotonic() - started

    assert login.status_code == 302 and signed_in.get(reverse("home")).status_code == 200
    assert renewed.status_code == 201 and renewed.json()["data"]["token"]
    assert refused.status_code == 401 and activation.status_code == 401
    assert invite.status_code == 302
    invitation = Invitation.objects.get(email="during-outage@example.com")
    assert OutboundEmail.objects.get(object_id=str(invitation.public_id)).sent_at is None  # kept for the relay
    assert elapsed < 15, f"the requests took {elapsed:.1f}s"
    assert "rate limits fail open" in caplog.text


def test_rate_limits_count_again_once_redis_is_back(private_redis):
    from django.core.cache import caches

    from portal.cache import ResilientRedisCache

    process, url = private_redis
    with override_settings(CACHES=redis_cache(url)):
        cache = caches["default"]
        assert isinstance(cache, ResilientRedisCache)
        assert cache.add("k", 1) is True and cache.add("k", 1) is False
        process.send_signal(signal.SIGSTOP)
        assert cache.get("k", "fallback") == "fallback" and cache.is_down
        started = time.monotonic()
        assert cache.add("k", 1) is True  # fails open at once while the breaker is open
        assert time.monotonic() - started < 0.1
        process.send_signal(signal.SIGCONT)
        cache._down_until = 0.0  # the break is over
        assert cache.get("k") == 1


# --- The database unavailable ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path, body", [
    ("post", "/api/authenticates", None),
    ("get", "/api/locations", None),
    ("post", "/synchronizer/v1/activate", {"product_key": "CHS-AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"}),
    ("post", "/synchronizer/v1/heartbeat", {}),
])
def test_the_api_and_the_agent_protocol_answer_503_in_the_envelope_when_the_database_is_down(
        cast, method, path, body):
    key = api_key_create(actor_membership=cast.alice_membership, mode="sandbox").raw
    token = Client().post("/api/authenticates", HTTP_AUTHORIZATION=key).json()["data"]["token"]
    headers = {"HTTP_AUTHORIZATION": key if path.endswith("authenticates") else f"Bearer {token}"}
    client = Client(raise_request_exception=False)
    with mock.patch.object(CursorWrapper, "execute", side_effect=OperationalError("the database is down")):
        response = getattr(client, method)(path, body, content_type="application/json", **headers) if body is not None \
            else getattr(client, method)(path, **headers)

    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"].isdigit() and int(response["Retry-After"]) > 0
    envelope = response.json()
    assert envelope["code"] is False and envelope["data"] is None
    assert envelope["description"] == "Service unavailable" and envelope["error"]


def test_a_portal_page_is_a_clear_503_page_when_the_database_is_down(alice_client):
    client = alice_client
    client.raise_request_exception = False
    with mock.patch.object(CursorWrapper, "execute", side_effect=OperationalError("the database is down")):
        response = client.get(reverse("home"))

    assert response.status_code == 503
    assert "temporarily unavailable" in response.content.decode()
    assert response["Retry-After"]


def test_health_checks(db, celery_broker):
    assert Client().get("/healthz").status_code == 200
    assert Client().get("/readyz").json()["checks"] == {"database": "ok", "broker": "ok"}

    with mock.patch.object(CursorWrapper, "execute", side_effect=OperationalError("down")):
        assert Client().get("/healthz").status_code == 200  # the process is up: do not restart it
        down = Client().get("/readyz")
    assert down.status_code == 503 and down.json()["checks"]["database"] == "unavailable"

    celery_broker(f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    started = time.monotonic()
    no_broker = Client().get("/readyz")
    assert no_broker.status_code == 503 and no_broker.json()["checks"] == {"database": "ok", "broker": "unavailable"}
    assert time.monotonic() - started < 10
