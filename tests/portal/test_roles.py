"""Roles (admin, developer, viewer): the permission table in portal/permissions.py, as every view applies it."""

import re
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from institutions.models import Institution, InstitutionAccess, Location
from portal.models import AuditEvent, Membership, OutboundEmail, Role
from portal.permissions import PERMISSIONS
from portal.services import organization_enable_production
from syncs import services
from syncs.models import Sync, SyncStatus
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def viewer(cast):
    user = UserFactory(email="vera@acme.example")
    MembershipFactory(user=user, organization=cast.acme, role=Role.VIEWER)
    return user


@pytest.fixture
def viewer_client(viewer) -> Client:
    client = client_for(viewer)
    client.post(reverse("mode_switch"), {"test_mode": "off"})
    return client


@pytest.fixture
def practice(cast, alice_client, bob_client):
    """A production practice of Acme with an active sync and two billed locations; everyone out of test mode."""
    organization_enable_production(organization=cast.acme, actor=None)
    for client in (alice_client, bob_client):
        client.post(reverse("mode_switch"), {"test_mode": "off"})
    institution = Institution.objects.create(name="Bright Smiles", subdomain="bright-smiles", contact_email="it@bright.example")
    InstitutionAccess.objects.create(organization=cast.acme, institution=institution, via="created")
    return institution


def a_sync(cast, institution, option="opendental") -> Sync:
    return services.sync_create(institution=institution, option_key=option, actor=cast.alice, organization=cast.acme)


def active_sync(cast, institution) -> Sync:
    sync = a_sync(cast, institution)
    Sync.objects.filter(pk=sync.pk).update(status=SyncStatus.ACTIVE)
    for n in (1, 2):
        Location.objects.create(institution=institution, sync=sync, name=f"Office {n}", foreign_id=str(n), active=True)
    sync.refresh_from_db()
    return sync


def test_a_viewer_sees_no_product_key(viewer_client, bob_client, cast, practice):
    sync = a_sync(cast, practice)
    key = services.product_key_of(sync)

    page = viewer_client.get(reverse("syncs:detail", args=[sync.code]))

    assert page.status_code == 200
    assert key not in page.content.decode()
    assert "Email these instructions" not in page.content.decode()
    assert key in bob_client.get(reverse("syncs:detail", args=[sync.code])).content.decode()


def test_a_viewer_sees_no_extension_token_and_no_credentials_form(viewer_client, bob_client, cast, practice):
    sync = a_sync(cast, practice, option="dentrixascend")
    token = services.extension_token_of(sync)

    page = viewer_client.get(reverse("syncs:detail", args=[sync.code])).content.decode()

    assert token not in page
    assert "Submit credentials" not in page
    assert token in bob_client.get(reverse("syncs:detail", args=[sync.code])).content.decode()


def test_a_viewer_reads_pages_but_every_write_is_refused(viewer_client, cast, practice):
    sync = a_sync(cast, practice)
    for name in ("home", "institutions:list", "sync_status", "users"):
        assert viewer_client.get(reverse(name)).status_code == 200, name
    assert viewer_client.get(reverse("institutions:detail", args=[practice.subdomain])).status_code == 200
    before = (Institution.objects.count(), Sync.objects.count(), AuditEvent.objects.count(), len(mail.outbox))

    writes = [
        (reverse("institutions:create"), {"name": "Sneaky"}),
        (reverse("institutions:sync_create", args=[practice.subdomain]), {"system": "opendental"}),
        (reverse("institutions:request_access", args=["anything"]), {}),
        (reverse("institutions:bulk_upload"), {}),
        (reverse("syncs:instructions", args=[sync.code]), {"email": "x@evil.example"}),
        (reverse("syncs:credentials", args=[sync.code]), {}),
        (reverse("syncs:locations", args=[sync.code]), {}),
        (reverse("syncs:schedule", args=[sync.code]), {}),
        (reverse("syncs:downtime", args=[sync.code]), {"downtime_schedule": "nights"}),
        (reverse("institutions:deactivate", args=[practice.subdomain]), {"scope": "institution"}),
        (reverse("invite"), {"email": "new@example.com", "role": "admin"}),
        (reverse("api_keys"), {"mode": "sandbox"}),
    ]
    for url, data in writes:
        assert viewer_client.post(url, data).status_code == 403, url

    assert (Institution.objects.count(), Sync.objects.count(), AuditEvent.objects.count(), len(mail.outbox)) == before


def test_a_developer_cannot_deactivate_locations(bob_client, cast, practice):
    active_sync(cast, practice)

    response = bob_client.post(reverse("institutions:deactivate", args=[practice.subdomain]), {"scope": "institution"})

    assert response.status_code == 403
    assert not practice.locations.filter(deactivated_at__isnull=False).exists()
    assert "data-dialog=\"deactivate-dialog\"" not in bob_client.get(
        reverse("institutions:detail", args=[practice.subdomain])).content.decode()


def test_a_developer_cannot_change_downtime_or_ask_for_a_reinstall(bob_client, cast, practice):
    sync = active_sync(cast, practice)

    assert bob_client.post(reverse("syncs:downtime", args=[sync.code]), {"downtime_schedule": "nights"}).status_code == 403
    assert bob_client.post(reverse("syncs:reinstall", args=[sync.code])).status_code == 403

    sync.refresh_from_db()
    assert sync.downtime_schedule == "none" and sync.reinstall_requested_at is None


def test_an_admin_changes_downtime_and_asks_for_a_reinstall_and_both_are_audited(alice_client, cast, practice):
    sync = active_sync(cast, practice)

    alice_client.post(reverse("syncs:downtime", args=[sync.code]), {"downtime_schedule": "nights"})
    alice_client.post(reverse("syncs:reinstall", args=[sync.code]))

    downtime = AuditEvent.objects.get(verb="sync.downtime_changed")
    assert (downtime.actor, downtime.organization, downtime.details["to"]) == (cast.alice, cast.acme, "nights")
    assert AuditEvent.objects.filter(verb="sync.reinstall_requested", actor=cast.alice).exists()


def test_emailing_a_product_key_is_audited_with_the_recipient_address(bob_client, cast, practice):
    sync = a_sync(cast, practice)

    response = bob_client.post(reverse("syncs:instructions", args=[sync.code]), {"email": "Someone@Elsewhere.example"})

    assert response.status_code == 302
    event = AuditEvent.objects.get(verb="sync.instructions_sent")
    assert (event.actor, event.organization, event.details) == (cast.bob, cast.acme, {"recipient": "someone@elsewhere.example"})
    assert OutboundEmail.objects.get(kind="install_instructions").recipient == "someone@elsewhere.example"


def test_developers_do_the_onboarding_work(bob_client, cast, practice):
    response = bob_client.post(reverse("institutions:sync_create", args=[practice.subdomain]), {"system": "opendental"})

    assert response.status_code == 302
    assert Sync.objects.filter(institution=practice, created_by=cast.bob).exists()


def test_an_admin_makes_a_developer_a_viewer_and_the_viewer_loses_the_buttons(alice_client, cast, practice):
    bob = cast.bob_membership
    alice_client.post(reverse("member_set_role", args=[bob.public_id]), {"role": "viewer"})

    assert Membership.objects.get(pk=bob.pk).role == Role.VIEWER
    page = client_for(cast.bob).get(reverse("institutions:list")).content.decode()
    assert "Create Institution" not in page


def test_every_portal_page_declares_its_action_in_the_permission_table():
    """Every signed-in page goes through permission_required, so the table is the one place for the rule."""
    public = {"invitation_accept", "consent", "practice_apps", "practice_decide", "practice_join", "organization_switch",
              "healthz", "readyz",  # public by design: load balancers probe them
              "synchronizer_download",  # the practice's IT downloads it from the emailed link, without an account
              "onboarding_practice"}  # an onboarding's setup link: the signed, single-use link is the credential
    portal_views = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if str(pattern.pattern) in ("api/", "synchronizer/v1/", "accounts/", "admin/"):
                    continue
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                portal_views.append((prefix + str(pattern.pattern), pattern.name, pattern.callback))

    walk(get_resolver().url_patterns)
    undeclared = [route for route, name, view in portal_views
                  if name not in public and getattr(view, "permission_action", None) not in PERMISSIONS]
    assert portal_views and undeclared == []


def test_the_readme_table_is_the_permission_table():
    readme = (ROOT / "README.md").read_text()
    readme = readme[readme.index("### Organizations, roles and permissions"):]
    readme = readme[:readme.index("\n### ", 1)]
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \|[^|]*\|(.*)\|\s*$", readme, re.MULTILINE))
    documented = {action: {role for role, cell in zip(("admin", "developer", "viewer"), cells.split("|"))
                           if "✓" in cell} for action, cells in rows.items()}

    assert documented == {action: set(roles) for action, roles in PERMISSIONS.items()}


@pytest.mark.django_db(transaction=True)
def test_role_migration_turns_members_into_developers():
    executor = MigrationExecutor(connection)
    before, after = [("portal", "0004_move_webhooks")], [("portal", "0005_roles_and_memberships")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    User, Organization = old.get_model("portal", "User"), old.get_model("portal", "Organization")
    Membership_, Invitation = old.get_model("portal", "Membership"), old.get_model("portal", "Invitation")
    org = Organization.objects.create(name="Old Co")
    admin = User.objects.create(email="old-admin@example.com")
    member = User.objects.create(email="old-member@example.com")
    Membership_.objects.create(user=admin, organization=org, role="admin")
    kept = Membership_.objects.create(user=member, organization=org, role="member")
    Invitation.objects.create(organization=org, email="invited@example.com", role="member")

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    memberships = new.get_model("portal", "Membership").objects
    assert dict(memberships.values_list("user__email", "role")) == {
        "old-admin@example.com": "admin", "old-member@example.com": "developer"}
    assert memberships.get(pk=kept.pk).public_id == kept.public_id  # the same rows, kept
    assert new.get_model("portal", "Invitation").objects.get().role == "developer"
    # Now a user may join a second organization.
    second = new.get_model("portal", "Organization").objects.create(name="Second Co")
    memberships.create(user_id=member.pk, organization=second, role="viewer")
    assert memberships.filter(user_id=member.pk).count() == 2

    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
