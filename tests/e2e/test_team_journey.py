"""A founder signs up, invites a teammate, and the teammate joins from the emailed link, in real Chromium."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_up_invite_and_join(live_server, settings, browser, screenshot, assert_accessible):
    settings.PORTAL_BASE_URL = live_server.url
    founder = browser.new_context().new_page()

    founder.goto(f"{live_server.url}/accounts/signup/")
    assert_accessible(founder)
    founder.locator("#id_organization_name").fill("Molar Metrics")
    founder.locator("#id_email").fill("founder@molarmetrics.example")
    founder.locator("#id_password1").fill("a-long-unusual-passphrase")
    founder.locator("#id_password2").fill("a-long-unusual-passphrase")
    founder.get_by_role("button", name="Sign Up").click()

    # Sign-up needs the address confirmed before the first sign-in.
    expect(founder.get_by_role("heading", name=re.compile("verify your email", re.I))).to_be_visible()
    confirmation = [m for m in mail.outbox if m.to == ["founder@molarmetrics.example"]][-1]
    founder.goto(re.search(r"https?://\S+/accounts/confirm-email/\S+/", confirmation.body).group(0))
    founder.get_by_role("button", name="Confirm").click()
    founder.goto(f"{live_server.url}/accounts/login/")
    founder.locator("#id_login").fill("founder@molarmetrics.example")
    founder.locator("#id_password").fill("a-long-unusual-passphrase")
    founder.get_by_role("button", name="Sign In").click()

    expect(founder.get_by_text("Test mode: you are looking at sandbox data")).to_be_visible()
    expect(founder.get_by_role("heading", name="Welcome to Chairside")).to_be_visible()
    assert_accessible(founder)
    screenshot(founder, "home")

    founder.get_by_role("link", name="Institutions").click()
    expect(founder.get_by_role("link", name="Molar Metrics Demo Practice")).to_be_visible()
    assert_accessible(founder)
    screenshot(founder, "institutions")

    founder.get_by_role("link", name="Users").click()
    founder.get_by_role("link", name="Invite user").click()
    founder.get_by_label("Email address").fill("not an email")
    founder.get_by_role("button", name="Send invitation").click()
    expect(founder.locator(".field-error")).to_contain_text("valid email address")
    assert_accessible(founder)
    founder.get_by_label("Email address").fill("teammate@molarmetrics.example")
    founder.get_by_role("button", name="Send invitation").click()
    expect(founder.get_by_text("Invitation sent to teammate@molarmetrics.example.")).to_be_visible()
    expect(founder.get_by_role("cell", name="teammate@molarmetrics.example")).to_be_visible()
    assert_accessible(founder)
    screenshot(founder, "users-with-pending-invite")

    invitations = [m for m in mail.outbox if m.to == ["teammate@molarmetrics.example"]]
    assert len(invitations) == 1
    link = re.search(r"https?://\S+/invitations/\S+/", invitations[0].body).group(0)
    assert link.startswith(live_server.url)

    teammate = browser.new_context().new_page()
    teammate.goto(link)
    expect(teammate.get_by_role("heading", name="Join Molar Metrics")).to_be_visible()
    expect(teammate.locator("#id_email")).to_have_value("teammate@molarmetrics.example")
    assert_accessible(teammate)
    screenshot(teammate, "invitation-signup")
    teammate.get_by_label("Password", exact=True).fill("another-long-passphrase")
    teammate.get_by_label("Password (again)").fill("another-long-passphrase")
    teammate.get_by_role("button", name="Create account and join").click()
    expect(teammate.get_by_text("Welcome to Molar Metrics.")).to_be_visible()

    teammate.get_by_role("link", name="Users").click()
    expect(teammate.get_by_role("cell", name=re.compile("teammate@molarmetrics.example"))).to_be_visible()
    expect(teammate.get_by_role("link", name="Invite user")).to_have_count(0)

    founder.reload()
    members = founder.locator("table").first
    expect(members).to_contain_text("teammate@molarmetrics.example")
    expect(founder.get_by_text("No pending invitations.")).to_be_visible()
    screenshot(founder, "users")
