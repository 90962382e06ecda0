import pytest
from django.urls import reverse

from portal.models import AuditEvent, Membership
from portal.services import organization_enable_production

pytestmark = pytest.mark.django_db


def test_it_starts_in_test_mode_with_a_banner(alice_client):
    page = alice_client.get(reverse("home")).content.decode()

    assert "Test mode: you are looking at sandbox data" in page
    assert "Production opens once support enables it" in page and reverse("production_access") in page


def test_it_cannot_leave_test_mode_before_production_is_enabled(alice_client, cast):
    response = alice_client.post(reverse("mode_switch"), {"test_mode": "off", "next": "/users/"}, follow=True)

    assert Membership.objects.get(user=cast.alice).test_mode is True
    assert "Production is not enabled" in response.content.decode()
    assert "Test mode: you are looking at sandbox data" in response.content.decode()


def test_it_leaves_test_mode_once_support_enables_production(alice_client, cast):
    organization_enable_production(organization=cast.acme, actor=None)

    response = alice_client.post(reverse("mode_switch"), {"test_mode": "off", "next": "/users/"})

    assert response["Location"] == "/users/"
    assert Membership.objects.get(user=cast.alice).test_mode is False
    assert "sandbox data" not in alice_client.get(reverse("home")).content.decode()
    assert AuditEvent.objects.filter(verb="organization.production_enabled", organization=cast.acme).exists()


def test_it_does_not_redirect_off_site(alice_client):
    response = alice_client.post(reverse("mode_switch"), {"test_mode": "on", "next": "//evil.example/"})

    assert response["Location"] == reverse("home")


def test_institutions_show_the_sandbox_in_test_mode_only(alice_client, cast):
    page = alice_client.get(reverse("institutions:list")).content.decode()
    assert "Acme Dental Apps Demo Practice" in page
    assert "Other Co Demo Practice" not in page

    organization_enable_production(organization=cast.acme, actor=None)
    alice_client.post(reverse("mode_switch"), {"test_mode": "off"})
    page = alice_client.get(reverse("institutions:list")).content.decode()
    assert "Acme Dental Apps Demo Practice" not in page
    assert "No institutions yet" in page
