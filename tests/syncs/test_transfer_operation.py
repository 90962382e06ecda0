"""Support transfers a shared sync's operation to a consumer organization (Sync admin, "Transfer operation")."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from institutions.models import InstitutionAccess, TimelineEvent
from portal.models import AuditEvent, Membership, Role
from portal.support import support_group_ensure
from syncs import services
from syncs.models import Sync
from tests.conftest import client_for
from tests.factories import InstitutionFactory, LocationFactory, SyncFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(cast):
    """Bright Smiles: Acme operates its sync; Other Co uses it with the practice's consent."""
    institution = InstitutionFactory(name="Bright Smiles", created_by=cast.acme)
    InstitutionAccess.objects.create(organization=cast.other, institution=institution, via=InstitutionAccess.Via.CONSENT)
    sync = SyncFactory(institution=institution)
    LocationFactory(sync=sync, active=True)
    return sync


@pytest.fixture
def support():
    user = UserFactory(email="sue@chairside.example", is_staff=True)
    user.groups.add(support_group_ensure())
    return user


def test_support_transfers_operation_to_a_consumer_audited_on_both_sides(cast, shared, support):
    services.sync_transfer_operation(sync=shared, to=cast.other, actor=support)

    shared.refresh_from_db()
    assert shared.operator == cast.other
    for organization in (cast.acme, cast.other):
        event = AuditEvent.objects.get(organization=organization, verb="sync.operation_transferred")
        assert event.details == {"from": "Acme Dental Apps", "to": "Other Co"}
        assert event.actor_label == "Chairside support"
    shared_event = TimelineEvent.objects.get(sync=shared, verb="sync.operation_transferred")
    assert shared_event.organization is None  # both organizations (and the practice) see it
    assert "transferred the operation" in shared_event.message and "Other Co" in shared_event.message
    assert "sue@chairside.example" not in shared_event.actor_label


def test_the_old_operator_loses_the_operator_views_and_the_new_one_gains_them(cast, shared, support):
    alice, olivia = client_for(cast.alice), client_for(cast.olivia)
    downtime = reverse("syncs:downtime", args=[shared.code])
    assert olivia.post(downtime, {"downtime_schedule": "nights"}).status_code == 403

    services.sync_transfer_operation(sync=shared, to=cast.other, actor=support)

    assert alice.post(downtime, {"downtime_schedule": "weekends"}).status_code == 403
    assert olivia.post(downtime, {"downtime_schedule": "nights"}).status_code == 302
    assert Sync.objects.get(pk=shared.pk).downtime_schedule == "nights"
    assert alice.get(reverse("syncs:detail", args=[shared.code])).context["operated_here"] is False
    assert olivia.get(reverse("syncs:detail", args=[shared.code])).context["operated_here"] is True


@pytest.mark.parametrize("access", ["pending", "revoked", "deactivated", "none"])
def test_operation_only_goes_to_an_organization_with_active_access(cast, shared, support, access):
    row = InstitutionAccess.objects.get(organization=cast.other, institution=shared.institution)
    if access == "none":
        row.delete()
    elif access == "deactivated":
        InstitutionAccess.objects.filter(pk=row.pk).update(deactivated_at=timezone.now())
    else:
        InstitutionAccess.objects.filter(pk=row.pk).update(status=access)

    with pytest.raises(ValidationError):
        services.sync_transfer_operation(sync=shared, to=cast.other, actor=support)

    assert Sync.objects.get(pk=shared.pk).operator == cast.acme
    assert not AuditEvent.objects.filter(verb="sync.operation_transferred").exists()


def test_the_operator_cannot_be_transferred_to_itself(cast, shared, support):
    with pytest.raises(ValidationError):
        services.sync_transfer_operation(sync=shared, to=cast.acme, actor=support)


def test_support_transfers_from_the_sync_admin(cast, shared, support):
    client = client_for(support)
    changelist = reverse("admin:syncs_sync_changelist")
    base = {"action": "transfer_operation", "_selected_action": [shared.pk]}

    asked = client.post(changelist, base)
    assert asked.status_code == 200
    assert "Other Co" in asked.content.decode()  # the only candidate offered

    done = client.post(changelist, {**base, "apply": "1", "organization": cast.other.pk})

    assert done.status_code == 302
    assert Sync.objects.get(pk=shared.pk).operator == cast.other


def test_a_developer_admin_cannot_transfer_operation(cast, shared):
    assert Membership.objects.get(user=cast.alice).role == Role.ADMIN  # an organization's admin, not staff
    response = client_for(cast.alice).post(reverse("admin:syncs_sync_changelist"), {
        "action": "transfer_operation", "_selected_action": [shared.pk], "apply": "1", "organization": cast.other.pk})

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert Sync.objects.get(pk=shared.pk).operator == cast.acme
