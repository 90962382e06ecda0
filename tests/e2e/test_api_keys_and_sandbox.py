"""An admin creates a sandbox key, sees it once, uses it, and browses the sandbox in real Chromium."""

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from institutions.models import Institution
from syncs.sandbox import sandbox_populate
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Welcome to Chairside")).to_be_visible()


def test_create_a_key_call_the_api_and_browse_the_sandbox(live_server, browser, cast, screenshot, assert_accessible):
    sandbox = Institution.objects.get(accesses__organization=cast.acme)
    sandbox_populate(institution=sandbox)
    page = browser.new_context().new_page()
    blocked = []  # the Content Security Policy must not block anything our pages (or the API docs) run
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None)
    sign_in(page, live_server, "alice@acme.example")

    page.get_by_role("link", name="API Keys").click()
    expect(page.get_by_text("No sandbox key yet.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Create sandbox API key").click()
    expect(page.get_by_text("will not be shown again")).to_be_visible()
    raw = page.locator("#new-key").inner_text().strip()
    assert re.fullmatch(r"chs_test_[0-9A-Za-z]{38}", raw)
    assert_accessible(page)
    screenshot(page, "api-key-created")

    token = Client().post("/api/authenticates", HTTP_AUTHORIZATION=raw).json()["data"]["token"]
    assert Client().get("/api/institutions", HTTP_AUTHORIZATION=f"Bearer {token}").json()["count"] == 1

    page.get_by_role("link", name="API Keys").click()
    expect(page.locator("#new-key")).to_have_count(0)
    expect(page.get_by_role("region", name="Sandbox key").get_by_text(raw[:17] + "…").first).to_be_visible()
    page.get_by_role("radio", name="Now").check()
    page.get_by_role("button", name="Rotate sandbox key").click()
    expect(page.get_by_text("Every sandbox integration using this key stops now.")).to_be_visible()
    page.get_by_role("button", name="Rotate now").click()
    rotated = page.locator("#new-key").inner_text().strip()
    assert rotated != raw
    assert Client().post("/api/authenticates", HTTP_AUTHORIZATION=raw).status_code == 401
    screenshot(page, "api-keys")

    page.get_by_role("link", name="Institutions").click()
    page.get_by_role("link", name=sandbox.name).click()
    expect(page.get_by_role("cell", name="Lakeview Family Dental")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "institution")

    page.get_by_role("link", name="Sync Status").click()
    expect(page.get_by_text("Read OK")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "sync-status")

    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_text("Chairside API").first).to_be_visible(timeout=15000)
    expect(page.get_by_text("/api/patients").first).to_be_visible()
    screenshot(page, "api-docs")
    assert blocked == []


def test_members_do_not_see_api_keys(live_server, browser, cast, assert_accessible):
    page = browser.new_context().new_page()
    sign_in(page, live_server, "bob@acme.example")

    expect(page.get_by_role("link", name="API Keys")).to_have_count(0)
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("link", name="Invite user")).to_have_count(0)
    assert_accessible(page)
