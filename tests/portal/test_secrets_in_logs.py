"""No token issued in a journey (invite, consent, password reset, email confirmation) reaches a log line."""

import io
import logging
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from institutions.consent import match_disclosure_token
from institutions.models import Institution, InstitutionAccess, Location
from portal.services import organization_enable_production
from syncs.models import Sync, SyncStatus

pytestmark = pytest.mark.django_db(transaction=True)
LINK = re.compile(r"/(?:invitations|consent|accounts/confirm-email|accounts/password/reset/key)/([^/\s]+)/")


@pytest.fixture
def log_output():
    """What the configured handlers write (after their filters), not what loggers receive: swap their streams."""
    buffer = io.StringIO()
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    handlers = {handler for logger in loggers for handler in getattr(logger, "handlers", [])
                if isinstance(handler, logging.StreamHandler)}
    assert handlers, "the project's logging configuration is active"
    saved = {handler: handler.setStream(buffer) for handler in handlers}
    yield buffer
    for handler, stream in saved.items():
        handler.setStream(stream)


def links() -> list[str]:
    return [match.group(0) for message in mail.outbox for match in LINK.finditer(message.body)]


def journey(cast, alice_client) -> list[str]:
    anonymous, strict = Client(), Client(enforce_csrf_checks=True)

    # An invitation: opened, then a forged POST (the CSRF failure is logged with its path).
    alice_client.post(reverse("invite"), {"email": "newcomer@example.com", "role": "developer"})
    [invitation] = [link for link in links() if link.startswith("/invitations/")]
    anonymous.get(invitation)
    strict.post(invitation, {"first_name": "New"})
    anonymous.get(invitation.replace(".", ".x"))  # a mangled link

    # A consent request to a practice live with another organization.
    practice = Institution.objects.create(name="Bright Smiles", subdomain="bright-smiles", zip_code="78701",
                                          contact_email="office@brightsmiles.example")
    InstitutionAccess.objects.create(organization=cast.other, institution=practice, via="created")
    sync = Sync.objects.create(institution=practice, operator=cast.other, ehr="opendental", status=SyncStatus.ACTIVE)
    Location.objects.create(institution=practice, sync=sync, name="North", foreign_id="1", active=True)
    organization_enable_production(organization=cast.acme, actor=None)
    alice_client.post(reverse("mode_switch"), {"test_mode": "off"})
    alice_client.post(reverse("institutions:request_access", args=["bright-smiles"]),
                      {"disclosure": match_disclosure_token(organization=cast.acme, subdomain="bright-smiles")})
    [consent] = [link for link in links() if link.startswith("/consent/")]
    anonymous.get(consent)
    strict.post(consent, {"decision": "approve"})
    anonymous.post(consent, {"decision": "approve"})
    anonymous.get(consent)  # used: gone

    # A password reset, followed to the end.
    anonymous.post(reverse("account_reset_password"), {"email": "bob@acme.example"})
    [reset] = [link for link in links() if "/password/reset/key/" in link]
    form_page = anonymous.get(reset, follow=True)
    strict.post(reset, {"password1": "x"})
    anonymous.post(form_page.redirect_chain[-1][0] if form_page.redirect_chain else reset,
                   {"password1": "a-new-long-passphrase", "password2": "a-new-long-passphrase"})
    anonymous.get(reset)  # used

    # An email confirmation at sign-up.
    signup = Client()
    signup.post(reverse("account_signup"), {"organization_name": "Newco", "email": "founder@newco.example",
                                            "password1": "a-long-passphrase-1", "password2": "a-long-passphrase-1"})
    [confirmation] = [link for link in links() if "/confirm-email/" in link]
    strict.post(confirmation)
    signup.get(confirmation)
    signup.post(confirmation)

    tokens = [LINK.search(link).group(1) for link in (invitation, consent, reset, confirmation)]
    assert all(len(token) >= 16 for token in tokens), tokens
    return tokens


@pytest.mark.parametrize("debug", [True, False])
def test_no_token_of_a_journey_is_ever_logged(cast, alice_client, settings, log_output, debug):
    settings.DEBUG = debug

    tokens = journey(cast, alice_client)

    logged = log_output.getvalue()
    assert "Forbidden (CSRF" in logged  # the failures the journey provoked were logged ...
    assert "/invitations/[redacted]/" in logged and "/consent/[redacted]/" in logged
    for token in tokens:  # ... and no token, nor a recognisable part of one, is in any line
        for part in {token, *token.replace("-", ".").replace(":", ".").split(".")}:
            if len(part) >= 8:
                assert part not in logged, f"{part!r} was logged"
