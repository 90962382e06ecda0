"""The settings read from the environment: every one is documented, and EMAIL_URL is read by dj-email-url."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.settings import email_settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_variable_the_settings_read_is_listed_in_the_env_example():
    source = (ROOT / "portal" / "settings.py").read_text()
    read = set(re.findall(r"""(?:env|env_bool|env_list|os\.environ\.get)\(\s*["']([A-Z0-9_]+)["']""", source))
    listed = set(re.findall(r"^#\s*([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))

    assert len(read) > 20
    assert sorted(read - listed) == []


def test_submission_is_smtp_with_starttls_on_587():
    config = email_settings("submission://mailer%40acme.example:p%40ss@smtp.example.com")

    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (config["EMAIL_HOST"], config["EMAIL_PORT"], config["EMAIL_USE_TLS"], config["EMAIL_USE_SSL"]) == (
        "smtp.example.com", 587, True, False)
    assert (config["EMAIL_HOST_USER"], config["EMAIL_HOST_PASSWORD"]) == ("mailer@acme.example", "p@ss")
    assert config["EMAIL_TIMEOUT"] == 10


def test_ssl_on_465_and_a_file_folder():
    assert email_settings("smtp://smtp.example.com:465?ssl=true")["EMAIL_USE_SSL"] is True
    assert email_settings("file:////var/mail/chairside")["EMAIL_FILE_PATH"] == "/var/mail/chairside"
    assert email_settings("memory://")["EMAIL_BACKEND"] == "django.core.mail.backends.locmem.EmailBackend"


def test_no_email_url_means_the_console_and_a_copy_in_var_mail():
    assert email_settings("")["EMAIL_BACKEND"] == "portal.mail.ConsoleAndFileBackend"


def test_an_unknown_scheme_is_refused():
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL scheme"):
        email_settings("pigeon://coop.example")
