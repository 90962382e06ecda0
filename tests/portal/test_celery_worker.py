"""The invitation email is delivered by a real Celery worker through the real Redis broker."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import connection

from portal.models import OutboundEmail
from portal.services import invitation_send
from tests.conftest import require_service

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def redis_answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def database_url_of_test_db() -> str:
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def broker_queue_name() -> str:
    return f"chairside-test-{os.getpid()}-{time.time_ns()}"


@pytest.fixture
def worker(tmp_path, broker_queue_name, celery_broker):
    url = redis_url()
    require_service("Redis", redis_answers(url), url)
    mail_dir = tmp_path / "mail"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_ENV": "test",
        "DATABASE_URL": database_url_of_test_db(),
        "REDIS_URL": url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_URL": f"file:///{mail_dir}",  # dj-email-url drops the first slash of the path
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "--concurrency=1",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", broker_queue_name, "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    celery_broker(url, task_default_queue=broker_queue_name)
    try:
        yield mail_dir, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_worker_delivers_the_invitation_email(cast, worker):
    mail_dir, process = worker

    invitation = invitation_send(actor_membership=cast.alice_membership, email="worker@example.com", role="developer")

    deadline = time.monotonic() + 60
    delivered = []
    while time.monotonic() < deadline and not delivered:
        delivered = [p.read_text() for p in mail_dir.glob("*.log")] if mail_dir.exists() else []
        if process.poll() is not None:
            pytest.fail(f"The worker stopped:\n{process.stdout.read()}")
        time.sleep(0.25)
    assert delivered, "the worker did not deliver the invitation within 60 seconds"
    assert "To: worker@example.com" in delivered[0]
    assert f"/invitations/{invitation.token}/" in delivered[0]
    assert mail.outbox == []  # this process only published the task
    assert OutboundEmail.objects.get(object_id=str(invitation.public_id)).sent_at is not None
