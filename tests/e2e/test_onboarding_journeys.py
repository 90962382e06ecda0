"""From "Create Institution" to an active sync, for each install path, in real Chromium.
Support's steps go through the admin pages in the browser."""

import re

import pytest
from playwright.sync_api import expect

from portal.services import organization_enable_production
from syncs.models import Sync
from tests.conftest import PASSWORD
from tests.e2e.test_api_keys_and_sandbox import sign_in
from tests.factories import LocationFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def developer(live_server, browser, cast):
    organization_enable_production(organization=cast.acme, actor=None)
    page = browser.new_context().new_page()
    sign_in(page, live_server, "alice@acme.example")
    page.get_by_role("switch").click()
    expect(page.get_by_text("Test mode: you are looking at sandbox data")).to_have_count(0)
    return page


@pytest.fixture
def support(live_server, browser, db):
    UserFactory(email="support@chairside.example", is_staff=True, is_superuser=True)
    page = browser.new_context().new_page()
    page.goto(f"{live_server.url}/admin/")
    page.locator("#id_login").fill("support@chairside.example")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_text("Chairside support console").first).to_be_visible()
    return page


def create_institution(page, name: str) -> None:
    submit_institution(page, name)
    expect(page.get_by_text("Next: create its sync")).to_be_visible()


def submit_institution(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Institutions").click()
    page.get_by_role("link", name="Create Institution").click()
    page.get_by_label("Practice name").fill(name)
    page.get_by_label("Street address").fill("12 Main St")
    page.get_by_label("City").fill("Austin")
    page.get_by_label("State").select_option("TX")
    page.get_by_label("ZIP code").fill("78701")
    page.get_by_label("Time zone").select_option("America/Chicago")
    page.get_by_label("Phone").fill("(512) 555-0142")
    page.get_by_label("Contact person").fill("Dana Office")
    page.get_by_label("Contact email").fill("it@practice.example")
    page.get_by_role("button", name="Create institution").click()


def support_action(page, live_server, institution: str, action: str, reason: str = "") -> None:
    page.goto(f"{live_server.url}/admin/syncs/sync/?q={institution.replace(' ', '+')}")
    page.locator("input[name=_selected_action]").first.check()
    page.locator("select[name=action]").select_option(label=action)
    page.get_by_role("button", name="Go").click()
    if reason:
        page.locator("textarea[name=reason]").fill(reason)
        page.locator("input[type=submit]").click()
    expect(page.locator(".messagelist")).to_contain_text(re.compile(r"\d+ syncs? "))


def test_self_installer_journey(live_server, developer, support, screenshot, assert_accessible):
    page = developer
    create_institution(page, "Cedar Dental")
    assert_accessible(page)
    page.get_by_role("link", name="Create sync").first.click()
    page.get_by_text("Open Dental", exact=True).click()
    assert_accessible(page)
    screenshot(page, "create-sync")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Product key")).to_be_visible()
    assert page.locator("#product-key").inner_text().startswith("CHS-")
    page.get_by_role("button", name="Email these instructions to the practice's IT contact").click()
    expect(page.get_by_text("The instructions were emailed to it@practice.example.")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "sync-product-key")

    support_action(support, live_server, "Cedar Dental", "Mark installed (the Synchronizer is reading history)")
    sync = Sync.objects.get(institution__name="Cedar Dental")
    for n, name in enumerate(["Cedar North", "Cedar South"], start=1):
        LocationFactory(sync=sync, name=name, foreign_id=str(n), street_address="1 St", city="Austin")
    support_action(support, live_server, "Cedar Dental", "History read: ask the developer to select locations")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Institutions").click()
    page.get_by_role("link", name="Select locations").click()
    page.get_by_role("button", name="Select all").click()
    screenshot(page, "select-locations")
    page.get_by_role("button", name="Activate selected locations").click()
    expect(page.get_by_text("2 locations selected. The sync is active.")).to_be_visible()
    page.get_by_role("link", name="Cedar Dental").click()
    expect(page.get_by_text("Selected 2 locations")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "institution-active")


def test_cloud_journey(live_server, developer, support, screenshot, assert_accessible):
    page = developer
    create_institution(page, "Dune Dental")
    page.get_by_role("link", name="Create sync").first.click()
    page.get_by_text("Dentrix Ascend", exact=True).click()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Credentials")).to_be_visible()
    page.get_by_label("Practice's web address").fill("https://live.dentrixascend.com/login")
    page.get_by_label("Organization alias (ORG ID)").fill("dune")
    page.get_by_label("Username").fill("chairside")
    page.get_by_label("Password").fill("First-Pa55word")
    page.get_by_role("button", name="Submit credentials").click()
    expect(page.get_by_text("Credentials submitted.")).to_be_visible()
    assert page.locator("#extension-token").inner_text().startswith("chs_ext_")
    assert_accessible(page)
    screenshot(page, "sync-cloud-submitted")

    support_action(support, live_server, "Dune Dental", "Flag a credential error…", reason="Password expired")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Institutions").click()
    page.get_by_role("link", name="Credentials rejected: update them").click()
    expect(page.get_by_text("Password expired").first).to_be_visible()
    page.get_by_label("Practice's web address").fill("https://live.dentrixascend.com/login")
    page.get_by_label("Organization alias (ORG ID)").fill("dune")
    page.get_by_label("Username").fill("chairside")
    page.get_by_label("Password").fill("Second-Pa55word")
    page.get_by_role("button", name="Submit credentials").click()

    # Support records the practice's location (the sync's Locations in the admin): no location, no activation.
    LocationFactory(sync=Sync.objects.get(institution__name="Dune Dental"), name="Dune Dental Main")
    support_action(support, live_server, "Dune Dental", "Installation complete: activate")
    page.reload()
    expect(page.locator(".pill", has_text="Active").first).to_be_visible()
    screenshot(page, "sync-cloud-active")


def test_scheduled_install_journey(live_server, developer, support, screenshot, assert_accessible):
    from datetime import timedelta

    from django.core import mail
    from django.utils import timezone

    from syncs.models import EngineerSlot

    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    for hours in (0, 2):
        EngineerSlot.objects.create(engineer="Sam Engineer", starts_at=start + timedelta(hours=hours),
                                    ends_at=start + timedelta(hours=hours + 1))
    page = developer
    create_institution(page, "Elm Orthodontics")
    page.get_by_role("link", name="Create sync").first.click()
    page.get_by_text("Dolphin", exact=True).click()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Schedule installation").click()
    assert_accessible(page)
    screenshot(page, "schedule-picker")
    page.get_by_role("button", name="Book").first.click()
    expect(page.get_by_text("Booked for", exact=False).last).to_be_visible()
    assert_accessible(page)
    screenshot(page, "sync-scheduled")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Institutions").click()
    page.get_by_role("link", name="IN PROGRESS (1)").click()
    expect(page.get_by_text("Installation scheduled for")).to_be_visible()
    assert any(a[0] == "install.ics" for m in mail.outbox for a in m.attachments)

    # The booked hour has come and the engineer recorded the practice's location: now it can be completed.
    EngineerSlot.objects.filter(sync__institution__name="Elm Orthodontics").update(
        starts_at=timezone.now() - timedelta(hours=1), ends_at=timezone.now())
    LocationFactory(sync=Sync.objects.get(institution__name="Elm Orthodontics"), name="Elm Orthodontics Main")
    support_action(support, live_server, "Elm Orthodontics", "Installation complete: activate")
    page.get_by_role("link", name="ALL (1)").click()
    expect(page.locator(".pill", has_text="Active").first).to_be_visible()
