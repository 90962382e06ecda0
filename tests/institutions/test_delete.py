"""Deleting an institution created by mistake: who may, when, and what it leaves behind."""

import pytest
from django.urls import reverse
from django.utils import timezone

from institutions.models import Institution, InstitutionAccess
from institutions.services import institution_can_be_deleted
from portal.models import AuditEvent
from portal.services import organization_enable_production
from syncs import services
from syncs.models import Sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def mistake(cast, alice_client):
    organization_enable_production(organization=cast.acme, actor=None)
    alice_client.post(reverse("mode_switch"), {"test_mode": "off"})
    institution = Institution.objects.create(name="Cedar Dentl", subdomain="cedar-dentl")
    InstitutionAccess.objects.create(organization=cast.acme, institution=institution, via="created")
    services.sync_create(institution=institution, option_key="opendental", actor=cast.alice, organization=cast.acme)
    return institution


def test_an_admin_deletes_an_institution_created_by_mistake_and_it_is_audited(alice_client, cast, mistake):
    page = alice_client.get(reverse("institutions:detail", args=["cedar-dentl"])).content.decode()
    assert "Delete institution" in page and "Delete Cedar Dentl?" in page

    response = alice_client.post(reverse("institutions:delete", args=["cedar-dentl"]))

    assert response.status_code == 302
    assert not Institution.objects.filter(subdomain="cedar-dentl").exists() and not Sync.objects.exists()
    event = AuditEvent.objects.get(verb="institution.deleted")
    assert event.actor == cast.alice and event.organization == cast.acme and "Cedar Dentl" in event.target_label


def test_the_confirmation_has_a_page_of_its_own(alice_client, mistake):
    page = alice_client.get(reverse("institutions:delete", args=["cedar-dentl"])).content.decode()

    assert "Delete Cedar Dentl?" in page and "its 1 sync and its timeline" in page
    assert Institution.objects.filter(subdomain="cedar-dentl").exists()


def test_a_member_cannot_delete_an_institution(bob_client, cast, mistake):
    assert "Delete institution" not in bob_client.get(reverse("institutions:detail", args=["cedar-dentl"])).content.decode()

    assert bob_client.post(reverse("institutions:delete", args=["cedar-dentl"])).status_code == 403
    assert Institution.objects.filter(subdomain="cedar-dentl").exists()


def test_an_institution_with_an_activated_sync_cannot_be_deleted(alice_client, cast, mistake):
    Sync.objects.filter(institution=mistake).update(activated_at=timezone.now())

    assert not institution_can_be_deleted(institution=mistake, membership=cast.alice_membership)
    assert alice_client.post(reverse("institutions:delete", args=["cedar-dentl"])).status_code == 403
    assert Institution.objects.filter(subdomain="cedar-dentl").exists()


def test_an_organization_that_only_got_access_by_consent_cannot_delete(cast, mistake):
    InstitutionAccess.objects.create(organization=cast.other, institution=mistake, via="consent")

    assert not institution_can_be_deleted(institution=mistake, membership=cast.olivia_membership)
    # Nor the creator any more: another organization uses the practice, and that relationship is not Acme's to end.
    assert not institution_can_be_deleted(institution=mistake, membership=cast.alice_membership)


def test_the_sandbox_cannot_be_deleted(cast):
    sandbox = Institution.objects.get(accesses__organization=cast.acme, is_sandbox=True)

    assert not institution_can_be_deleted(institution=sandbox, membership=cast.alice_membership)
