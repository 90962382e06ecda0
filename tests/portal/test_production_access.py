"""Requesting production access: the form, support's queue, the emails, and the home checklist after."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from portal.models import AuditEvent, ProductionAccessRequest
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

REQUEST = {"company_name": "Acme Dental Apps Inc.", "company_website": "acme.example", "company_address": "1 Main St, Austin, TX",
           "expected_practices": "40", "use_case": "Online booking: we read open slots and write appointments."}


@pytest.fixture
def staff_client(db) -> Client:
    client = Client()
    client.force_login(UserFactory(email="support@chairside.example", is_staff=True, is_superuser=True))
    return client


def test_an_admin_requests_production_and_support_and_the_requester_are_emailed(
        alice_client, cast, settings, django_capture_on_commit_callbacks):
    settings.SUPPORT_EMAIL = "support@chairside.example"
    assert "Request production access" in alice_client.get(reverse("home")).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("production_access"), REQUEST)

    assert response.status_code == 302
    access_request = ProductionAccessRequest.objects.get()
    assert access_request.status == "pending" and access_request.expected_practices == 40
    assert access_request.company_website == "https://acme.example"
    to = {message.to[0]: message for message in mail.outbox}
    assert set(to) == {"support@chairside.example", "alice@acme.example"}
    assert "Online booking" in to["support@chairside.example"].body
    assert "/admin/portal/productionaccessrequest/" in to["support@chairside.example"].body
    assert AuditEvent.objects.filter(verb="production_access.requested", organization=cast.acme).exists()
    home = alice_client.get(reverse("home")).content.decode()
    assert "In review" in home and "requested production access" in home


def test_asking_twice_is_refused_while_a_request_is_pending(alice_client, cast):
    alice_client.post(reverse("production_access"), REQUEST)

    again = alice_client.post(reverse("production_access"), REQUEST)

    assert "In review" in again.content.decode()
    assert ProductionAccessRequest.objects.count() == 1


def test_a_member_cannot_request_production(bob_client, cast):
    assert "Only admins of Acme Dental Apps" in bob_client.get(reverse("production_access")).content.decode()

    assert bob_client.post(reverse("production_access"), REQUEST).status_code == 403
    assert not ProductionAccessRequest.objects.exists()


def test_the_form_says_what_is_missing(alice_client, cast):
    response = alice_client.post(reverse("production_access"), {**REQUEST, "expected_practices": "0", "use_case": ""})

    page = response.content.decode()
    assert response.status_code == 400 and "Enter 1 or more." in page and "This field is required." in page


def test_support_enables_production_from_the_queue_and_admins_are_emailed(
        alice_client, staff_client, cast, django_capture_on_commit_callbacks):
    second_admin = UserFactory(email="carol@acme.example")
    MembershipFactory(user=second_admin, organization=cast.acme, role="admin")
    alice_client.post(reverse("production_access"), REQUEST)
    access_request = ProductionAccessRequest.objects.get()
    queue = staff_client.get(reverse("admin:portal_productionaccessrequest_changelist")).content.decode()
    assert "Acme Dental Apps Inc." in queue
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("admin:portal_productionaccessrequest_changelist"),
                          {"action": "enable_production", "_selected_action": [access_request.pk]})

    cast.acme.refresh_from_db()
    access_request.refresh_from_db()
    assert cast.acme.production_enabled and access_request.status == "approved" and access_request.decided_at
    assert sorted(m.to[0] for m in mail.outbox if "Production is enabled" in m.subject) == ["alice@acme.example", "carol@acme.example"]
    home = alice_client.get(reverse("home")).content.decode()
    assert "Once production is enabled" not in home and "Request production access" not in home.split("Getting started")[0]
    assert "Production is enabled: you can onboard real practices." in home
