"""The practice's Apps page: every organization with access (operator marked), and every change to the practice."""

import pytest
from django.urls import reverse
from django.utils import timezone

from institutions.models import InstitutionAccess, PracticeMember
from portal.models import Organization
from syncs import services
from tests.conftest import client_for
from tests.factories import InstitutionFactory, LocationFactory, SyncFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def practice_page(cast):
    """Bright Smiles: Acme operates it; Other Co consumes it and then stopped; Pending Co asks; Gone Co was revoked."""
    institution = InstitutionFactory(name="Bright Smiles", created_by=cast.acme)
    sync = SyncFactory(institution=institution)
    LocationFactory(sync=sync, active=True)
    InstitutionAccess.objects.create(organization=cast.other, institution=institution, via="consent",
                                     deactivated_at=timezone.now())
    InstitutionAccess.objects.create(organization=Organization.objects.create(name="Pending Co"), institution=institution,
                                     via="consent", status="pending")
    InstitutionAccess.objects.create(organization=Organization.objects.create(name="Gone Co"), institution=institution,
                                     via="consent", status="revoked")
    services.sync_set_downtime(sync=sync, schedule="nights", actor=cast.alice, organization=cast.acme)
    services.sync_email_instructions(sync=sync, to="it@bright.example", actor=cast.bob, organization=cast.acme)
    pat = UserFactory(email="pat@bright.example")
    PracticeMember.objects.create(user=pat, institution=institution)
    return client_for(pat).get(reverse("practice_apps"))


def panel_of(html: str, name: str) -> str:
    start = html.index(f"<strong>{name}</strong>")
    return html[start:html.index("</div>", start)]


def test_the_apps_page_shows_every_relationship(practice_page):
    html = practice_page.content.decode()

    assert practice_page.status_code == 200
    assert "Operates your Synchronizer" in panel_of(html, "Acme Dental Apps")
    assert "Has access" in panel_of(html, "Acme Dental Apps")
    assert html.index("Acme Dental Apps") < html.index("Gone Co")  # the operator first
    assert "Stopped using your practice" in panel_of(html, "Other Co")
    assert "Operates" not in panel_of(html, "Other Co")
    assert "Asks for access" in panel_of(html, "Pending Co")
    assert "Access revoked" in panel_of(html, "Gone Co")


def test_the_apps_page_shows_every_change_by_organization_never_by_email(practice_page):
    html = practice_page.content.decode()
    timeline = html[html.index("Every change to your practice"):]

    assert "Expected downtime" in timeline
    assert "Emailed the installation instructions" in timeline  # a private event of Acme's, shown to the practice
    assert timeline.count("Acme Dental Apps") >= 2
    assert "alice@acme.example" not in html and "bob@acme.example" not in html


def test_the_practice_sees_the_operation_transferred(cast, practice_page):
    from institutions.models import Institution
    institution = Institution.objects.get(name="Bright Smiles")
    InstitutionAccess.objects.filter(organization=cast.other).update(deactivated_at=None)
    support = UserFactory(email="sue@chairside.example", is_staff=True)
    services.sync_transfer_operation(sync=institution.syncs.get(), to=cast.other, actor=support)

    html = client_for(PracticeMember.objects.get().user).get(reverse("practice_apps")).content.decode()

    assert "Operates your Synchronizer" in panel_of(html, "Other Co")
    assert "Operates your Synchronizer" not in panel_of(html, "Acme Dental Apps")
    assert "transferred the operation" in html and "sue@chairside.example" not in html


def test_a_new_syncs_timeline_words_take_the_right_article():
    from syncs.catalog import SYNC_OPTIONS
    from syncs.services import sync_created_message

    assert sync_created_message(SYNC_OPTIONS["opendental"]).startswith("Created an Open Dental sync")
    assert sync_created_message(SYNC_OPTIONS["eaglesoft"]).startswith("Created an Eaglesoft sync")
    assert sync_created_message(SYNC_OPTIONS["athena"]).startswith("Created an athenahealth sync")
    assert sync_created_message(SYNC_OPTIONS["dentrix"]).startswith("Created a Dentrix sync")
