"""The Sync Status page in real Chromium: red first, filters, the freshness strip, a sync's diagnosis."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.services import organization_enable_production
from syncs.models import Sync, SyncHealthChange
from tests.e2e.test_api_keys_and_sandbox import sign_in
from tests.factories import LocationFactory, SyncFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def active_sync(organization, name: str, minutes_ago: int, **fields) -> Sync:
    last = timezone.now() - timedelta(minutes=minutes_ago)
    sync = SyncFactory(institution__name=name, institution__tz="America/Chicago", institution__created_by=organization,
                       last_read_at=last, last_write_at=last, **fields)
    LocationFactory(sync=sync, name=f"{name} Main", foreign_id="1", active=True)
    return sync


def test_sync_status_page(live_server, browser, cast, screenshot, assert_accessible):
    organization_enable_production(organization=cast.acme, actor=None)
    active_sync(cast.acme, "Healthy Dental", 5)
    down = active_sync(cast.acme, "Silent Dental", 600, host_facts={"free_disk_mb": 700})
    SyncHealthChange.objects.create(sync=down, kind="read", from_health="green", to_health="red",
                                    created_at=timezone.now() - timedelta(hours=10))
    page = browser.new_context().new_page()
    sign_in(page, live_server, "alice@acme.example")
    page.get_by_role("switch").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sync Status").click()
    rows = page.locator("tbody tr")
    expect(rows.first).to_contain_text("Silent Dental")
    expect(rows.nth(1)).to_contain_text("Healthy Dental")
    expect(page.get_by_role("img", name="Read health over the last 7 days").first).to_be_visible()
    assert_accessible(page)
    screenshot(page, "sync-status-page")

    page.get_by_label("Health", exact=True).select_option("red")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("tbody tr")).to_have_count(1)

    page.get_by_role("link", name="Silent Dental").click()
    expect(page.get_by_text("700 MB free")).to_be_visible()
    expect(page.get_by_text("reinstall it with a new product key")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "sync-diagnosis")
