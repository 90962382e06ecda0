import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from institutions.models import Institution
from syncs.sandbox import sandbox_populate
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def populated(cast):
    sandbox = Institution.objects.get(accesses__organization=cast.acme)
    sandbox_populate(institution=sandbox)
    return sandbox


def test_the_institution_page_lists_syncs_and_locations(alice_client, populated):
    page = alice_client.get(reverse("institutions:detail", args=[populated.subdomain])).content.decode()

    assert "Open Dental" in page
    for location in populated.locations.all():
        assert location.name in page and f"location_id={location.pk}" in page


def test_sync_status_shows_the_sandbox_sync_healthy(alice_client, populated):
    page = alice_client.get(reverse("sync_status")).content.decode()

    assert populated.name in page
    assert "Read OK" in page and "Write OK" in page


def test_list_pages_take_a_constant_number_of_queries(alice_client, populated, cast):
    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert alice_client.get(url).status_code == 200
        return len(queries)

    urls = [reverse("institutions:list"), reverse("sync_status"), reverse("audit_log"),
            reverse("institutions:detail", args=[populated.subdomain])]
    before = {url: count(url) for url in urls}
    for n in range(3):
        extra = InstitutionFactory(name=f"Extra {n}", is_sandbox=True, created_by=cast.acme)
        sandbox_populate(institution=extra)

    assert {url: count(url) for url in urls} == before


def test_every_paginated_page_keeps_its_filters_in_the_page_links(alice_client, cast):
    from institutions.models import InstitutionAccess
    from portal.audit import audit_record

    for n in range(30):
        institution = Institution.objects.create(name=f"Dental {n:02d}", subdomain=f"dental-{n:02d}", is_sandbox=True)
        InstitutionAccess.objects.create(organization=cast.acme, institution=institution, via="created")
    for n in range(60):
        audit_record(verb="test.event", actor=cast.alice, organization=cast.acme, target_label=f"event {n}")

    board = alice_client.get(reverse("institutions:list"), {"section": "all", "q": "Dental"}).content.decode()
    audit = alice_client.get(reverse("audit_log")).content.decode()

    assert 'href="?section=all&amp;q=Dental&amp;page=2">Next →</a>' in board
    assert 'href="?page=2">Older →</a>' in audit and "Page 1 of 2" in audit
