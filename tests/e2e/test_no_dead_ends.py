"""Issue 13 in real Chromium: the dead ends and traps a new user hit, each one fixed and clicked through,
plus every main page at 390, 1024 and 1440 px without sideways scrolling."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from institutions.models import Institution, InstitutionAccess, Location
from portal.models import AuditEvent, Membership, ProductionAccessRequest
from portal.services import organization_enable_production
from syncs.models import Sync, SyncStatus
from tests.conftest import PASSWORD
from tests.e2e.test_api_keys_and_sandbox import sign_in
from tests.e2e.test_onboarding_journeys import create_institution, submit_institution
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = (390, 1024, 1440)


def live_sync(organization, name: str, locations=("North Office",), minutes_ago: int = 5) -> Sync:
    institution = Institution.objects.create(name=name, subdomain=name.lower().replace(" ", "-"), tz="America/Chicago",
                                             street_address="12 Main St", city="Austin", state="TX", zip_code="78701")
    InstitutionAccess.objects.create(organization=organization, institution=institution, via="created")
    last = timezone.now() - timedelta(minutes=minutes_ago)
    sync = Sync.objects.create(institution=institution, operator=organization, ehr="opendental", status=SyncStatus.ACTIVE, last_read_at=last,
                               last_write_at=last, activated_at=last - timedelta(days=2))
    for n, location in enumerate(locations, start=1):
        Location.objects.create(institution=institution, sync=sync, name=location, foreign_id=str(n), active=True,
                                street_address=f"{n} Oak St", city="Austin", state="TX", zip_code="78701")
    return sync


@pytest.fixture
def developer(live_server, browser, cast, settings):
    settings.PORTAL_BASE_URL = live_server.url
    organization_enable_production(organization=cast.acme, actor=None)
    page = browser.new_context().new_page()
    sign_in(page, live_server, "alice@acme.example")
    page.get_by_role("switch").click()
    expect(page.get_by_text("Test mode: you are looking at sandbox data")).to_have_count(0)
    return page


def is_modal(page, selector: str) -> bool:
    return page.evaluate(f"document.querySelector('{selector}').matches(':modal')")


def focus_is_inside(page, selector: str) -> bool:
    return page.evaluate(f"document.querySelector('{selector}').contains(document.activeElement)")


def test_reinstall_is_a_working_button(live_server, developer, cast, assert_accessible):
    sync = live_sync(cast.acme, "Birch Dental")
    page = developer

    page.goto(f"{live_server.url}/syncs/{sync.code}/")
    page.get_by_role("button", name="Reinstall").click()

    expect(page.get_by_text("Reinstall requested. Support will issue a new product key here")).to_be_visible()
    expect(page.get_by_text("CSRF")).to_have_count(0)
    assert Sync.objects.get(pk=sync.pk).reinstall_requested_at is not None
    assert_accessible(page)


def test_a_possible_match_is_a_modal_and_without_javascript_a_page_of_its_own(
        live_server, browser, developer, cast, screenshot, assert_accessible):
    live = Institution.objects.create(name="Cedar Dental", subdomain="cedar-dental-live", zip_code="78701",
                                      phone_number="5125550142", contact_email="office@cedar.example")
    InstitutionAccess.objects.create(organization=cast.other, institution=live, via="created")
    sync = Sync.objects.create(institution=live, operator=cast.other, ehr="opendental", status=SyncStatus.ACTIVE)
    Location.objects.create(institution=live, sync=sync, name="Cedar North", foreign_id="1", active=True)
    page = developer

    submit_institution(page, "Cedar Dental")
    dialog = page.locator("#match-dialog")
    expect(dialog.get_by_role("heading", name="This practice may already be live with the Synchronizer")).to_be_visible()
    assert is_modal(page, "#match-dialog") and focus_is_inside(page, "#match-dialog")
    box = dialog.bounding_box()
    assert 0 <= box["y"] and box["y"] + 40 < page.viewport_size["height"], "the dialog must be in view, not below the form"
    assert_accessible(page)
    screenshot(page, "match-modal")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert not Institution.objects.filter(subdomain="cedar-dental").exists()

    page.get_by_role("button", name="Create institution").click()
    page.get_by_role("button", name="It's a different practice: create it anyway").click()
    expect(page.get_by_text("Next: create its sync")).to_be_visible()
    assert Institution.objects.filter(name="Cedar Dental", is_sandbox=False).count() == 2

    no_js = browser.new_context(java_script_enabled=False).new_page()
    sign_in(no_js, live_server, "alice@acme.example")
    submit_institution(no_js, "Cedar Dental")
    expect(no_js.get_by_role("heading", level=1, name="This practice may already be live with the Synchronizer")).to_be_visible()
    expect(no_js.get_by_role("button", name="Request access")).to_be_visible()  # (axe needs JavaScript: not run here)
    screenshot(no_js, "match-page-without-javascript")
    no_js.get_by_role("button", name="Edit the details").click()
    expect(no_js.get_by_label("Practice name")).to_have_value("Cedar Dental")


def test_deactivate_selects_the_ticked_locations_and_names_what_stops(live_server, developer, cast, screenshot,
                                                                      assert_accessible):
    sync = live_sync(cast.acme, "Group Dental", locations=("North Office", "South Office", "East Office"))
    page = developer
    page.goto(f"{live_server.url}/institutions/group-dental/")

    page.get_by_role("link", name="Deactivate").click()
    dialog = page.locator("#deactivate-dialog")
    assert is_modal(page, "#deactivate-dialog")
    expect(dialog.get_by_role("radio", name="The whole institution")).not_to_be_checked()
    dialog.get_by_role("checkbox", name="North Office").check()
    expect(dialog.get_by_role("radio", name="Some locations")).to_be_checked()
    expect(dialog.locator("[data-deactivate-summary]")).to_have_text(re.compile(r"^1 location selected\. .*: North Office\."))
    expect(dialog.get_by_label(re.compile("type its name"))).to_be_hidden()
    assert_accessible(page)
    screenshot(page, "deactivate-some-locations")
    dialog.get_by_role("button", name="Deactivate").click()

    expect(page.get_by_text("Deactivated 1 location for your organization: your API access and billing stopped.")).to_be_visible()
    assert list(Location.objects.filter(deactivated_at__isnull=False).values_list("name", flat=True)) == ["North Office"]
    assert Sync.objects.get(pk=sync.pk).status == SyncStatus.ACTIVE

    page.get_by_role("link", name="Deactivate").click()
    dialog.get_by_role("radio", name="The whole institution").check()
    expect(dialog.locator("[data-deactivate-summary]")).to_contain_text(
        "API access to 2 locations (East Office, South Office) and billing. No other organization uses this "
        "practice, so the Open Dental sync stops too")
    name = dialog.get_by_label(re.compile("type its name"))
    expect(name).to_be_visible()
    screenshot(page, "deactivate-whole-institution")
    name.fill("Group")
    dialog.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_text("Type the institution's name, Group Dental, to deactivate all of it.")).to_be_visible()
    assert Sync.objects.get(pk=sync.pk).status == SyncStatus.ACTIVE
    page.get_by_role("radio", name="The whole institution").check()
    page.get_by_label(re.compile("type its name")).fill("Group Dental")
    page.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_text("Deactivated the institution for your organization: your API access and billing stopped.")).to_be_visible()
    assert Sync.objects.get(pk=sync.pk).status == SyncStatus.DEACTIVATED


def test_production_access_request_round_trip_with_emails(live_server, browser, cast, settings, screenshot,
                                                          assert_accessible):
    settings.PORTAL_BASE_URL = live_server.url
    settings.SUPPORT_EMAIL = "support@chairside.example"
    page = browser.new_context().new_page()
    sign_in(page, live_server, "alice@acme.example")

    page.get_by_role("region", name="Going live").get_by_role("link", name="Request production access").click()
    assert_accessible(page)
    page.get_by_label("Company website").fill("acme.example")
    page.get_by_label("Practices you expect to onboard in the first year").fill("40")
    page.get_by_label("What your software does with practice data").fill("Online booking: open slots and appointments.")
    screenshot(page, "production-request")
    page.get_by_role("button", name="Request production access").click()
    expect(page.get_by_text("Request sent.")).to_be_visible()
    expect(page.get_by_role("region", name="Going live")).to_contain_text("In review")
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["alice@acme.example", "support@chairside.example"]

    UserFactory(email="support@chairside.example", is_staff=True, is_superuser=True)
    support = browser.new_context().new_page()
    support.goto(f"{live_server.url}/admin/")
    support.locator("#id_login").fill("support@chairside.example")
    support.locator("#id_password").fill(PASSWORD)
    support.get_by_role("button", name="Sign In").click()
    queues = support.get_by_role("region", name="Work queues")
    expect(queues.get_by_role("listitem").filter(has_text="Production requests")).to_contain_text("1")
    assert_accessible(support)
    screenshot(support, "support-console-home")
    to_support = next(m for m in mail.outbox if m.to == ["support@chairside.example"])
    support.goto(re.search(r"https?://\S+/admin/portal/productionaccessrequest/\S*", to_support.body).group(0))
    expect(support.get_by_role("link", name="Acme Dental Apps")).to_be_visible()
    support.locator("input[name=_selected_action]").first.check()
    support.locator("select[name=action]").select_option(label="Enable production for these organizations")
    support.get_by_role("button", name="Go").click()
    expect(support.locator(".messagelist")).to_contain_text("Production enabled for 1 organization; their admins were emailed.")
    assert ProductionAccessRequest.objects.get().status == "approved"
    assert [m.to for m in mail.outbox if m.subject == "Production is enabled for Acme Dental Apps"] == [["alice@acme.example"]]

    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("region", name="Going live")).to_have_count(0)
    expect(page.get_by_text("Production is enabled: you can onboard real practices.")).to_be_visible()
    expect(page.get_by_text("Once production is enabled")).to_have_count(0)
    screenshot(page, "home-production-enabled")


def test_an_institution_created_by_mistake_is_deleted_after_a_confirmation(live_server, developer, cast, assert_accessible):
    page = developer
    create_institution(page, "Cedar Dentl")

    page.get_by_role("link", name="Delete institution").click()
    dialog = page.locator("#delete-dialog")
    assert is_modal(page, "#delete-dialog") and focus_is_inside(page, "#delete-dialog")
    expect(dialog).to_contain_text("It can't be undone.")
    assert_accessible(page)
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("link", name="Delete institution").click()
    dialog.get_by_role("button", name="Delete institution").click()

    expect(page.get_by_text("Cedar Dentl was deleted.")).to_be_visible()
    assert not Institution.objects.filter(name="Cedar Dentl").exists()
    assert AuditEvent.objects.filter(verb="institution.deleted", actor=cast.alice).exists()


def test_rotating_the_production_key_now_asks_first_and_names_what_breaks(live_server, developer, assert_accessible):
    page = developer
    page.get_by_role("link", name="API Keys").click()
    page.get_by_role("button", name="Create production API key").click()
    old = page.locator("#new-key").inner_text().strip()
    page.get_by_role("link", name="API Keys").click()

    card = page.get_by_role("region", name="Production key")
    card.get_by_role("radio", name="Now").check()
    card.get_by_role("button", name="Rotate production key").click()
    dialog = page.locator("#rotate-now-production")
    expect(dialog).to_contain_text("Every production integration using this key stops now.")
    assert is_modal(page, "#rotate-now-production")
    assert_accessible(page)
    dialog.get_by_role("button", name="Keep the current key").click()
    expect(page.locator("#new-key")).to_have_count(0)
    assert Client().post("/api/authenticates", HTTP_AUTHORIZATION=old).status_code == 201

    card.get_by_role("button", name="Rotate production key").click()
    dialog.get_by_role("button", name="Rotate now").click()
    expect(page.locator("#new-key")).to_be_visible()
    assert Client().post("/api/authenticates", HTTP_AUTHORIZATION=old).status_code == 401


def test_main_pages_fit_every_screen_without_sideways_scrolling(live_server, browser, cast, screenshot, assert_accessible):
    organization_enable_production(organization=cast.acme, actor=None)
    sync = live_sync(cast.acme, "Harbor Family Dental of South Austin", locations=("Harbor North", "Harbor South"))
    Membership.objects.filter(user=cast.alice).update(test_mode=False)
    pages = {
        "home": "/", "board": "/institutions/?section=all", "institution": f"/institutions/{sync.institution.subdomain}/",
        "sync": f"/syncs/{sync.code}/", "create-institution": "/institutions/new/",
        "create-sync": f"/institutions/{sync.institution.subdomain}/syncs/new/", "sync-status": "/sync-status/",
        "api-keys": "/api-keys/", "users": "/users/", "audit-log": "/audit/", "csv-upload": "/institutions/upload/",
    }
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server, "alice@acme.example")
    too_wide = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in pages.items():
            page.goto(f"{live_server.url}{path}")
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            if width < 1440 and scroll > inner:
                too_wide.append(f"{name} at {width} px: {scroll} > {inner}")
            if width == 390:
                assert_accessible(page)
            screenshot(page, f"{name}-{width}")
    assert too_wide == []

    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{live_server.url}/")
    menu = page.get_by_role("button", name="Menu")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sync Status")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sync Status").click()
    expect(page.get_by_role("heading", level=1, name="Sync Status")).to_be_visible()
    screenshot(page, "sync-status-390-after-menu")

    public = browser.new_context(viewport={"width": 390, "height": 800}).new_page()
    public.goto(f"{live_server.url}/accounts/login/")
    assert public.evaluate("document.documentElement.scrollWidth <= innerWidth")
    assert_accessible(public)
    screenshot(public, "sign-in-390")
