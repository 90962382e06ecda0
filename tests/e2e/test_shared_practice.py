"""Issue 9 in real Chromium: one practice, two developer organizations, no one can hurt another.

Acme onboarded Bright Smiles and operates its sync; Other Co finds the practice through Create Institution's match
dialog, asks for access, the practice approves from the emailed link, Other Co sees health but nothing secret, then
ends its own access. Acme's dashboard and API answers stay exactly as they were; the practice's Apps page shows both.
"""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from institutions.models import Institution, InstitutionAccess, Location
from portal.api_keys import api_key_create
from portal.models import ApiKey, Membership
from portal.services import organization_enable_production
from syncs import services
from syncs.models import Sync, SyncStatus
from tests.api.conftest import token_for
from tests.conftest import PASSWORD
from tests.e2e.test_api_keys_and_sandbox import sign_in
from tests.e2e.test_onboarding_journeys import submit_institution

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
V3 = {"HTTP_NEX_API_VERSION": "v20240412"}


def bright_smiles(acme, actor) -> Sync:
    """A practice Acme created, with an active Open Dental sync Acme operates and two live locations."""
    institution = Institution.objects.create(
        name="Bright Smiles", subdomain="bright-smiles", tz="America/Chicago", street_address="40 Elm St",
        city="Austin", state="TX", zip_code="78701", phone_number="5125550142", contact_name="Pat Office",
        contact_email="pat@bright.example")
    InstitutionAccess.objects.create(organization=acme, institution=institution, via=InstitutionAccess.Via.CREATED)
    sync = services.sync_create(institution=institution, option_key="opendental", actor=actor,
                                organization=acme)
    last = timezone.now() - timedelta(minutes=5)
    Sync.objects.filter(pk=sync.pk).update(status=SyncStatus.ACTIVE, last_read_at=last, last_write_at=last,
                                           activated_at=last - timedelta(days=3))
    for n, name in enumerate(("Bright North", "Bright South"), start=1):
        Location.objects.create(institution=institution, sync=sync, name=name, foreign_id=str(n), active=True,
                                street_address=f"{n} Oak St", city="Austin", state="TX", zip_code="78701")
    return Sync.objects.get(pk=sync.pk)


class Integration:
    """An organization's production integration, calling the API with its own bearer token."""

    def __init__(self, membership):
        self.token = token_for(api_key_create(actor_membership=membership, mode=ApiKey.Mode.PRODUCTION).raw)

    def get(self, path: str, params: dict | None = None):
        return Client().get(f"/api/{path}", params, HTTP_AUTHORIZATION=f"Bearer {self.token}", **V3)

    def answers(self) -> list:
        calls = ("locations", "locations?subdomain=bright-smiles", "sync_status", "sync_status?subdomain=bright-smiles")
        return [(r.status_code, r.json()) for r in map(self.get, calls)]


def institution_summary(page) -> tuple:
    """What the institution page says of an organization's standing: status pill, billed locations, each location."""
    rows = page.get_by_role("region", name="Locations").locator("tbody tr")
    return (page.locator(".panel .pill").first.inner_text(),
            page.locator("dt:has-text('Billed locations') + dd").inner_text(),
            [rows.nth(i).locator("td").first.inner_text() + ": " + rows.nth(i).locator("td").last.inner_text()
             for i in range(rows.count())])


def test_two_organizations_share_a_practice_and_the_consumer_leaves_without_touching_the_operator(
        live_server, browser, cast, settings, screenshot, assert_accessible):
    settings.PORTAL_BASE_URL = live_server.url
    for organization in (cast.acme, cast.other):
        organization_enable_production(organization=organization, actor=None)
    Membership.objects.update(test_mode=False)
    sync = bright_smiles(cast.acme, cast.alice)
    product_key = services.product_key_of(sync)
    assert product_key
    locations = list(Location.objects.filter(institution=sync.institution).order_by("name"))
    acme_api, other_api = Integration(cast.alice_membership), Integration(cast.olivia_membership)

    # 1. Acme's admin sees the practice on the board, active with its two billed locations.
    acme = browser.new_context().new_page()
    sign_in(acme, live_server, "alice@acme.example")
    acme.get_by_role("navigation", name="Main").get_by_role("link", name="Institutions").click()
    acme.get_by_role("link", name=re.compile("ALL")).click()
    acme.get_by_role("link", name="Bright Smiles").click()
    expect(acme.get_by_role("heading", level=1, name="Bright Smiles")).to_be_visible()
    acme_before = institution_summary(acme)
    assert acme_before == ("Active", "2 active", ["Bright North: Active", "Bright South: Active"])
    acme.goto(f"{live_server.url}/syncs/{sync.code}/")
    expect(acme.get_by_role("button", name="Save expected downtime")).to_be_visible()  # the operator's settings
    assert_accessible(acme)
    screenshot(acme, "shared-1-operator-sync")
    api_before = acme_api.answers()
    assert [status for status, _ in api_before] == [200, 200, 200, 200]
    assert {location["name"] for institution in api_before[1][1]["data"] for location in institution["locations"]} == {
        "Bright North", "Bright South"}
    assert other_api.get("locations?subdomain=bright-smiles").status_code in (403, 404)  # Other Co reaches nothing yet

    # 2. Other Co's admin types the practice's identity into Create Institution and asks for access.
    other = browser.new_context().new_page()
    sign_in(other, live_server, "olivia@other.example")
    submit_institution(other, "Bright Smiles")
    dialog = other.locator("#match-dialog")
    heading = "This practice may already be live with the Synchronizer"
    expect(dialog.get_by_role("heading", name=heading)).to_be_visible()
    expect(dialog.get_by_text("Same phone number (512) 555-0142")).to_be_visible()
    assert_accessible(other)
    screenshot(other, "shared-2-match-modal")
    dialog.get_by_role("button", name="Request access").click()
    expect(other.get_by_text("Waiting for the practice's consent")).to_be_visible()
    assert not Institution.objects.filter(name="Bright Smiles").exclude(pk=sync.institution_id).exists()

    # 3. The practice's contact opens the emailed link in a browser of its own and approves.
    consent_email = next(m for m in mail.outbox if "asks to use" in m.subject)
    assert consent_email.to == ["pat@bright.example"] and "Other Co" in consent_email.subject
    practice = browser.new_context().new_page()
    practice.goto(re.search(r"https?://\S+/consent/\S+/", consent_email.body).group(0))
    expect(practice.get_by_role("heading", name="Other Co asks to use your Synchronizer")).to_be_visible()
    expect(practice.get_by_text("Bright North")).to_be_visible()
    assert_accessible(practice)
    screenshot(practice, "shared-3-consent")
    practice.get_by_role("button", name="Approve access").click()
    expect(practice.get_by_role("heading", name="Access approved")).to_be_visible()

    # 4. Other Co sees the institution and the sync's health, nothing secret, no settings; its API reaches both offices.
    other.goto(f"{live_server.url}/institutions/bright-smiles/")
    expect(other.get_by_role("heading", level=1, name="Bright Smiles")).to_be_visible()
    expect(other.locator("dt:has-text('Billed locations') + dd")).to_have_text("2 active")
    other.get_by_role("link", name="Open Dental").click()
    expect(other.get_by_role("heading", name="Sync health")).to_be_visible()
    expect(other.get_by_text("Operated by")).to_be_visible()
    expect(other.locator("dd", has_text="Acme Dental Apps")).to_be_visible()
    # No form on the sync's page at all: downtime, reinstall, credentials, instructions, locations are the operator's.
    for secret_or_setting in ("#product-key", "#extension-token", "form[action*='/syncs/']"):
        expect(other.locator(secret_or_setting)).to_have_count(0)
    expect(other.get_by_role("button", name="Save expected downtime")).to_have_count(0)
    expect(other.get_by_role("button", name="Reinstall")).to_have_count(0)
    assert product_key not in other.content()
    assert_accessible(other)
    screenshot(other, "shared-4-consumer-sync")
    listed = other_api.get("locations?subdomain=bright-smiles")
    assert listed.status_code == 200
    assert {location["name"] for institution in listed.json()["data"] for location in institution["locations"]} == {
        "Bright North", "Bright South"}
    assert [other_api.get(f"locations/{location.pk}").status_code for location in locations] == [200, 200]

    # 5. Other Co deactivates its own access to the whole institution.
    other.goto(f"{live_server.url}/institutions/bright-smiles/")
    other.get_by_role("link", name="Deactivate").click()
    deactivate = other.locator("#deactivate-dialog")
    expect(deactivate).to_contain_text("Other organizations the practice works with keep their access")
    deactivate.get_by_role("radio", name="The whole institution").check()
    deactivate.get_by_label(re.compile("type its name")).fill("Bright Smiles")
    assert_accessible(other)
    screenshot(other, "shared-5-consumer-deactivates")
    deactivate.get_by_role("button", name="Deactivate").click()
    expect(other.locator(".flash-success")).to_contain_text("Deactivated the institution for your organization")
    expect(other.locator(".panel .pill").first).to_have_text("Deactivated")
    screenshot(other, "shared-5-consumer-deactivated")
    # Its key no longer reaches them: a location by id is a 404 (the reference's only status for it), and the
    # location's records are refused (403, the seeds' answer for a location the key may not use).
    assert [other_api.get(f"locations/{location.pk}").status_code for location in locations] == [404, 404]
    assert [other_api.get("patients", {"subdomain": "bright-smiles", "location_id": location.pk}).status_code
            for location in locations] == [403, 403]

    # 6. Acme's dashboard and API answers are exactly as before; the sync still runs.
    acme.goto(f"{live_server.url}/institutions/bright-smiles/")
    assert institution_summary(acme) == acme_before
    screenshot(acme, "shared-6-operator-unchanged")
    assert acme_api.answers() == api_before
    assert Sync.objects.get(pk=sync.pk).status == SyncStatus.ACTIVE

    # 7. The practice's contact joins from the emailed invitation: Acme operates, Other Co stopped.
    invitation = next(m for m in mail.outbox if "/practice/join/" in m.body)
    practice.goto(re.search(r"https?://\S+/practice/join/\S+/", invitation.body).group(0))
    practice.get_by_label("Password", exact=True).fill(PASSWORD)
    practice.get_by_label("Password (again)").fill(PASSWORD)
    practice.get_by_role("button", name="Create account").click()
    expect(practice.get_by_role("heading", name="Apps connected to Bright Smiles")).to_be_visible()
    acme_app = practice.locator(".panel").filter(has_text="Acme Dental Apps")
    other_app = practice.locator(".panel").filter(has_text="Other Co")
    expect(acme_app).to_contain_text("Operates your Synchronizer")
    expect(acme_app).to_contain_text("Has access")
    expect(other_app).to_contain_text("Stopped using your practice")
    expect(other_app).not_to_contain_text("Operates your Synchronizer")
    expect(practice.get_by_text("The practice approved access for Other Co")).to_be_visible()
    assert "olivia@" not in practice.content() and "alice@" not in practice.content()
    assert_accessible(practice)
    screenshot(practice, "shared-7-practice-apps")
