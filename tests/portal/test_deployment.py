"""Deployment safety: no published SECRET_KEY, check --deploy catches missing keys, client addresses behind proxies."""

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.test import RequestFactory

from portal.audit import client_ip
from portal.checks import credentials_encryption_keys_check
from portal.settings import local_secret_key

ROOT = Path(__file__).resolve().parents[2]


def test_without_a_secret_key_a_random_one_is_made_once_and_kept(tmp_path):
    path = tmp_path / "var" / "secret_key"

    first = local_secret_key(path)

    assert len(first) >= 50 and local_secret_key(path) == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert first not in (ROOT / "portal" / "settings.py").read_text()
    assert local_secret_key(tmp_path / "elsewhere" / "secret_key") != first
    assert "var/" in (ROOT / ".gitignore").read_text().splitlines()


def test_check_deploy_fails_in_production_without_credentials_encryption_keys(settings):
    settings.PRODUCTION = True
    settings.CREDENTIALS_ENCRYPTION_KEYS = []
    assert [error.id for error in credentials_encryption_keys_check(None)] == ["chairside.E001"]
    settings.CREDENTIALS_ENCRYPTION_KEYS = ["not-a-key"]
    assert [error.id for error in credentials_encryption_keys_check(None)] == ["chairside.E002"]
    settings.CREDENTIALS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert credentials_encryption_keys_check(None) == []
    settings.PRODUCTION, settings.CREDENTIALS_ENCRYPTION_KEYS = False, []
    assert credentials_encryption_keys_check(None) == []


def test_manage_py_check_deploy_reports_the_missing_keys(tmp_path):
    env = {**os.environ, "DJANGO_ENV": "production", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "portal.example.com",
           "DJANGO_SETTINGS_MODULE": "portal.settings", "VAR_DIR": str(tmp_path), "CREDENTIALS_ENCRYPTION_KEYS": ""}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "chairside.E001" in result.stderr + result.stdout


@pytest.mark.parametrize("remote, forwarded, expected", [
    ("203.0.113.9", "", "203.0.113.9"),
    ("203.0.113.9", "198.51.100.7", "203.0.113.9"),            # not a trusted proxy: its header is ignored
    ("10.0.0.2", "198.51.100.7", "198.51.100.7"),              # the load balancer says who the client is
    ("10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7"),     # the client's own claim (left) is not believed
    ("10.0.0.2", "198.51.100.7, 10.0.0.3", "198.51.100.7"),    # two proxies of ours
    ("10.0.0.2", "not-an-ip", "10.0.0.2"),
    ("10.0.0.2", "", "10.0.0.2"),
])
def test_the_client_address_comes_from_x_forwarded_for_only_through_trusted_proxies(settings, remote, forwarded,
                                                                                       expected):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


@pytest.mark.django_db
def test_rate_limits_and_audit_events_use_the_forwarded_client_address(settings, cast, alice_client,
                                                                         rate_window_frozen):
    from django.test import Client

    from portal.models import AuditEvent

    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]
    settings.API_FAILED_KEY_LIMIT = 2
    behind_proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(2):
        Client(**behind_proxy).post("/api/authenticates", HTTP_AUTHORIZATION="bad", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert Client(**behind_proxy).post("/api/authenticates", HTTP_AUTHORIZATION="bad",
                                       HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    assert Client(**behind_proxy).post("/api/authenticates", HTTP_AUTHORIZATION="bad",
                                       HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 401  # another client

    alice_client.post("/api-keys/", {"mode": "sandbox"}, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert AuditEvent.objects.get(verb="api_key.created").ip_address == "198.51.100.9"
