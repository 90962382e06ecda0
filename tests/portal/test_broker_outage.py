"""A stopped or frozen Redis must not hang a web request, and the invitation it carried is not lost."""

import socket
import threading
import time

import pytest
from django.core import mail
from django.urls import reverse

from portal.models import Invitation, OutboundEmail

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def frozen_redis():
    """A TCP server that accepts connections and never answers, like a Redis stopped with SIGSTOP."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    stop = threading.Event()

    def accept_forever():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.parametrize("outage", ["stopped", "frozen"])
def test_an_invitation_made_during_a_broker_outage_is_kept_and_the_request_returns(
    alice_client, cast, celery_broker, frozen_redis, outage
):
    celery_broker(closed_port_url() if outage == "stopped" else frozen_redis)

    started = time.monotonic()
    response = alice_client.post(reverse("invite"), {"email": "outage@example.com", "role": "developer"})
    elapsed = time.monotonic() - started

    assert response.status_code == 302
    assert elapsed < 10, f"the request hung for {elapsed:.1f}s"
    invitation = Invitation.objects.get(email="outage@example.com")
    pending = OutboundEmail.objects.get(object_id=str(invitation.public_id))
    assert pending.sent_at is None
    assert mail.outbox == []
