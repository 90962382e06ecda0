"""Request access to a live practice and approve it from the emailed link; bulk upload with a fix and re-upload."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from institutions import bulk
from institutions.models import Institution
from portal.services import organization_enable_production
from tests.e2e.test_api_keys_and_sandbox import sign_in
from tests.e2e.test_onboarding_journeys import submit_institution
from tests.factories import InstitutionFactory, LocationFactory, SyncFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def developer(live_server, browser, cast, settings):
    settings.PORTAL_BASE_URL = live_server.url
    organization_enable_production(organization=cast.acme, actor=None)
    page = browser.new_context().new_page()
    sign_in(page, live_server, "alice@acme.example")
    page.get_by_role("switch").click()
    return page


def test_request_access_and_the_practice_approves(live_server, browser, cast, developer, screenshot, assert_accessible):
    live = InstitutionFactory(name="Cedar Dental", subdomain="cedar-dental-live", zip_code="78701",
                              phone_number="5125550142", contact_email="office@cedar.example", created_by=cast.other)
    LocationFactory(sync=SyncFactory(institution=live), name="Cedar North", foreign_id="1", active=True)
    page = developer

    submit_institution(page, "Cedar Dental")
    expect(page.get_by_role("heading", name="This practice may already be live with the Synchronizer")).to_be_visible()
    expect(page.get_by_text("Same phone number (512) 555-0142")).to_be_visible()
    screenshot(page, "match-modal")
    page.get_by_role("button", name="Request access").click()
    expect(page.get_by_text("Waiting for the practice's consent")).to_be_visible()

    link = re.search(r"https?://\S+/consent/\S+/", [m for m in mail.outbox if "asks to use" in m.subject][-1].body).group(0)
    practice = browser.new_context().new_page()
    practice.goto(link)
    expect(practice.get_by_role("heading", name="Acme Dental Apps asks to use your Synchronizer")).to_be_visible()
    expect(practice.get_by_text("Cedar North")).to_be_visible()
    assert_accessible(practice)
    screenshot(practice, "consent-page")
    practice.get_by_role("button", name="Approve access").click()
    expect(practice.get_by_role("heading", name="Access approved")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Institutions").click()
    page.get_by_role("link", name=re.compile("ALL")).click()
    expect(page.get_by_role("link", name="Cedar Dental")).to_be_visible()


def csv_file(rows: list[dict]) -> dict:
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=bulk.COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return {"name": "practices.csv", "mimeType": "text/csv", "buffer": out.getvalue().encode()}


ROW = {"institution_name": "Maple Dental", "street_address": "5 Maple St", "street_address_2": "", "city": "Austin",
       "state": "TX", "zip_code": "78702", "phone_number": "5125550111", "email": "", "website": "",
       "contact_name": "Kim", "contact_email": "kim@maple.example", "is_parent_organization": "no", "emr_name": "opendental"}


def test_bulk_upload_with_errors_fix_and_import(live_server, developer, screenshot, assert_accessible):
    page = developer
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Institutions").click()
    page.get_by_role("link", name="Upload CSV").click()
    assert_accessible(page)
    page.get_by_label("CSV file").set_input_files(csv_file([ROW, {**ROW, "institution_name": "Oak Dental", "phone_number": "12",
                                                                  "emr_name": "nosuchsystem"}]))
    page.get_by_role("button", name="Check file").click()
    expect(page.get_by_text("nosuchsystem").first).to_be_visible()
    screenshot(page, "bulk-errors")

    page.get_by_role("link", name="Upload another file").first.click()
    page.get_by_label("CSV file").set_input_files(csv_file([ROW, {**ROW, "institution_name": "Oak Dental",
                                                                  "phone_number": "5125550122", "emr_name": "athena"}]))
    page.get_by_role("button", name="Check file").click()
    page.get_by_role("button", name="Confirm import").click()
    expect(page.get_by_text(re.compile("2 of 2"))).to_be_visible(timeout=20000)
    page.reload()
    assert_accessible(page)
    screenshot(page, "bulk-done")
    assert set(Institution.objects.filter(is_sandbox=False).values_list("name", flat=True)) >= {"Maple Dental", "Oak Dental"}
