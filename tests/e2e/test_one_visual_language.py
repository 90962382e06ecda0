"""Issue 13, one visual language, in real Chromium: the API reference in the portal's frame, and the sign-up, email
confirmation, password reset and two-factor pages styled like sign-in; each at 390 px and wide, with axe and
screenshots, without sideways scrolling and without a Content Security Policy violation."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.test_api_keys_and_sandbox import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = (390, 1440)


@pytest.fixture
def look(screenshot, assert_accessible):
    """Axe, no sideways scroll, and a screenshot of the page as it is now."""

    def check(page, name: str) -> None:
        width = page.viewport_size["width"]
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), f"{name} scrolls sideways at {width}"
        assert_accessible(page)
        screenshot(page, f"{name}-{width}")

    return check


def watch_csp(page) -> list[str]:
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None)
    return blocked


@pytest.mark.parametrize("width", WIDTHS)
def test_the_api_reference_sits_in_the_portals_frame(live_server, browser, cast, look, width):
    visitor = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    blocked = watch_csp(visitor)

    visitor.goto(f"{live_server.url}/api/docs/")
    expect(visitor.get_by_role("heading", name="API reference")).to_be_visible()
    expect(visitor.get_by_role("link", name="Sign in")).to_be_visible()
    expect(visitor.locator(".opblock-get").first).to_be_visible(timeout=15000)
    visitor.locator(".opblock-get .opblock-summary-control").first.click()
    visitor.locator(".opblock-post .opblock-summary-control").first.click()
    visitor.get_by_role("button", name="Try it out").first.click()
    expect(visitor.get_by_role("button", name="Execute").first).to_be_visible()
    look(visitor, "api-docs-visitor")
    assert blocked == []

    member = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    sign_in(member, live_server, "alice@acme.example")
    member.goto(f"{live_server.url}/api/docs/")
    expect(member.locator(".opblock-get").first).to_be_visible(timeout=15000)
    if width < 900:
        member.get_by_role("button", name="Menu").click()
    member.get_by_role("navigation", name="Main").get_by_role("link", name="Home").click()
    expect(member.get_by_role("heading", name="Welcome to Chairside")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_sign_up_confirmation_and_password_reset_look_like_sign_in(live_server, browser, cast, look, settings, width):
    settings.PORTAL_BASE_URL = live_server.url  # the emailed links point at this server
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    blocked = watch_csp(page)

    page.goto(f"{live_server.url}/accounts/login/")
    look(page, "sign-in")
    page.get_by_role("link", name="sign up").click()
    expect(page.get_by_role("heading", name="Sign Up")).to_be_visible()
    look(page, "sign-up")
    page.get_by_label("Company name").fill(f"Maple Software {width}")
    page.get_by_label("Email").fill(f"founder{width}@maple.example")
    page.get_by_label("Password", exact=True).fill("a-long-unusual-passphrase")
    page.get_by_label("Password (again)").fill("a-long-unusual-passphrase")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    look(page, "email-verification-sent")

    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    expect(page.get_by_role("button", name="Confirm")).to_be_visible()
    look(page, "email-confirm")

    page.goto(f"{live_server.url}/accounts/password/reset/")
    look(page, "password-reset")
    page.get_by_label("Email").fill("alice@acme.example")
    page.get_by_role("button", name="Reset My Password").click()
    expect(page.get_by_role("heading", name="Password Reset")).to_be_visible()
    look(page, "password-reset-sent")
    link = re.search(r"http://\S+/accounts/password/reset/key/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    expect(page.get_by_role("heading", name="Change Password")).to_be_visible()
    look(page, "password-reset-new")
    assert blocked == []


@pytest.mark.parametrize("width", WIDTHS)
def test_two_factor_pages_sit_in_the_portal(live_server, browser, cast, look, width):
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    sign_in(page, live_server, "alice@acme.example")

    page.goto(f"{live_server.url}/accounts/2fa/")
    expect(page.get_by_role("heading", name="Two-Factor Authentication", level=1)).to_be_visible()
    look(page, "two-factor")
    page.get_by_role("link", name="Activate").click()
    if page.get_by_label("Password").count():  # allauth asks for the password again before enrolling
        look(page, "reauthenticate")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_label("Authenticator code")).to_be_visible()
    look(page, "two-factor-activate")


def test_the_audit_log_reads_in_words_filters_and_exports(live_server, browser, cast, look):
    from portal.audit import audit_record

    audit_record(verb="membership.role_changed", actor=cast.alice, organization=cast.acme, target_label="bob@acme.example",
                 details={"from": "developer", "to": "viewer"})
    audit_record(verb="api_key.created", actor=cast.bob, organization=cast.acme, target_label="=chs_test_ab12",
                 details={"mode": "sandbox"})
    page = browser.new_context(viewport={"width": 390, "height": 900}).new_page()
    sign_in(page, live_server, "alice@acme.example")

    page.goto(f"{live_server.url}/audit/")
    expect(page.get_by_text("alice@acme.example changed bob@acme.example's role from developer to viewer")).to_be_visible()
    assert page.locator("td time").first.get_attribute("title").endswith("UTC")  # the exact time on hover
    page.get_by_label("Who").select_option("bob@acme.example")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("bob@acme.example created the sandbox API key =chs_test_ab12")).to_be_visible()
    expect(page.get_by_text("changed bob@acme.example's role")).to_have_count(0)
    look(page, "audit-log-filtered")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    exported = open(download_info.value.path()).read()
    assert "'=chs_test_ab12" in exported and "role from developer" not in exported
