"""Issue 13 in real Chromium, the honest states: a sync waiting for its first heartbeat, the Synchronizer download
whose hash matches, and support transitions refused with the reason."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from syncs import services
from syncs.installer import installer
from syncs.models import EngineerSlot, Sync, SyncStatus
from tests.e2e.test_no_dead_ends import developer, live_sync  # noqa: F401  (fixture)
from tests.e2e.test_onboarding_journeys import support  # noqa: F401  (fixture)
from tests.factories import InstitutionFactory, LocationFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_sync_just_activated_is_waiting_for_its_first_heartbeat(live_server, developer, cast, screenshot,
                                                                    assert_accessible):
    sync = live_sync(cast.acme, "Aspen Dental")
    Sync.objects.filter(pk=sync.pk).update(last_read_at=None, last_write_at=None, activated_at=timezone.now())
    page = developer

    page.goto(f"{live_server.url}/syncs/{sync.code}/")

    expect(page.get_by_text("Read waiting")).to_be_visible()
    expect(page.get_by_test_id("waiting")).to_contain_text("Waiting for the first heartbeat")
    expect(page.locator(".pill", has_text=re.compile(r"\bDown\b"))).to_have_count(0)
    expect(page.get_by_text("Antivirus software may have removed it")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "sync-waiting-first-heartbeat")

    page.goto(f"{live_server.url}/sync-status/")
    expect(page.get_by_text("Read waiting")).to_be_visible()
    label = page.locator("svg.strip").get_attribute("aria-label")
    assert "since the sync went live" in label  # the hours before it existed are blank, not green or red

    Sync.objects.filter(pk=sync.pk).update(activated_at=timezone.now() - timedelta(minutes=45))
    page.goto(f"{live_server.url}/syncs/{sync.code}/")
    expect(page.get_by_text("Read Down")).to_be_visible()
    expect(page.get_by_text("has not reported once since the sync went live")).to_be_visible()


def test_the_synchronizer_download_serves_a_zipapp_whose_hash_matches(live_server, developer, cast, settings,
                                                                       screenshot, assert_accessible):
    institution = InstitutionFactory(name="Willow Dental", created_by=cast.acme)
    sync = services.sync_create(institution=institution, option_key="opendental", actor=cast.alice, organization=cast.acme)
    page = developer

    page.goto(f"{live_server.url}/syncs/{sync.code}/")
    shown = page.get_by_test_id("installer-sha256").inner_text().strip()
    with page.expect_download() as download_info:
        page.get_by_test_id("installer-link").click()
    download = download_info.value

    content = open(download.path(), "rb").read()
    assert download.suggested_filename == installer().filename
    assert hashlib.sha256(content).hexdigest() == shown
    assert content.startswith(b"#!") and b"syncs/agent/__main__.py" in content
    expect(page.locator("#run-command")).to_contain_text(f"--product-key {services.product_key_of(sync)}")
    expect(page.locator("#run-command")).to_contain_text(f"--server {live_server.url}")
    assert_accessible(page)
    screenshot(page, "sync-download")


def test_support_transitions_that_are_not_ready_are_refused_with_the_reason(live_server, support, cast, screenshot,
                                                                           assert_accessible):
    later = InstitutionFactory(name="Juniper Orthodontics", created_by=cast.acme, tz="America/Chicago")
    scheduled = services.sync_create(institution=later, option_key="dolphin", actor=cast.alice, organization=cast.acme)
    LocationFactory(sync=scheduled, name="Juniper Main")
    Sync.objects.filter(pk=scheduled.pk).update(status=SyncStatus.INSTALL_SCHEDULED)
    starts = timezone.now() + timedelta(days=2)
    EngineerSlot.objects.create(engineer="Sam Engineer", starts_at=starts, ends_at=starts + timedelta(hours=1), sync=scheduled)
    empty = InstitutionFactory(name="Hazel Cloud Dental", created_by=cast.acme)
    cloud = services.sync_create(institution=empty, option_key="denticon", actor=cast.alice, organization=cast.acme)
    services.sync_submit_credentials(sync=cloud, credentials={"username": "u", "password": "p"}, actor=cast.alice,
                                     organization=cast.acme)
    page = support

    for name, reason in (("Juniper Orthodontics", re.compile(r"booked for .* \(America/Chicago\): it cannot be complete")),
                         ("Hazel Cloud Dental", re.compile("No locations are recorded for this sync"))):
        page.goto(f"{live_server.url}/admin/syncs/sync/?q={name.replace(' ', '+')}")
        page.locator("input[name=_selected_action]").first.check()
        page.locator("select[name=action]").select_option(label="Installation complete: activate")
        page.get_by_role("button", name="Go").click()
        expect(page.locator(".messagelist .error")).to_contain_text(reason)
        expect(page.locator(".messagelist .success")).to_have_count(0)

    assert Sync.objects.get(pk=scheduled.pk).status == SyncStatus.INSTALL_SCHEDULED
    assert Sync.objects.get(pk=cloud.pk).status == SyncStatus.CREDENTIALS_SUBMITTED
    assert_accessible(page)
    screenshot(page, "admin-refused-transition")


def test_the_time_zone_follows_the_state_until_the_user_picks_one(live_server, developer, cast, assert_accessible):
    from institutions.models import Institution

    page = developer
    page.goto(f"{live_server.url}/institutions/new/")
    zone = page.get_by_label("Time zone")

    page.get_by_label("State").select_option("AZ")
    expect(zone).to_have_value("America/Phoenix")
    page.get_by_label("State").select_option("TX")
    expect(zone).to_have_value("America/Chicago")
    zone.select_option("America/Denver")  # El Paso keeps Mountain time
    page.get_by_label("State").select_option("NM")
    page.get_by_label("State").select_option("TX")
    expect(zone).to_have_value("America/Denver")
    assert_accessible(page)

    page.get_by_label("Practice name").fill("Sunland Dental")
    page.get_by_label("Street address").fill("1 Mesa St")
    page.get_by_label("City").fill("El Paso")
    page.get_by_label("ZIP code").fill("79901")
    page.get_by_label("Phone").fill("(915) 555-0142")
    page.get_by_label("Contact person").fill("Dana Office")
    page.get_by_label("Contact email").fill("it@sunland.example")
    page.get_by_role("button", name="Create institution").click()
    expect(page.get_by_text("Next: create its sync")).to_be_visible()
    assert Institution.objects.get(name="Sunland Dental").tz == "America/Denver"
