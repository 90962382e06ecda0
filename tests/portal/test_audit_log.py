"""The audit log in words, with filters by who, action and date, a formula-safe CSV export and constant queries."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.audit import SUPPORT_LABEL, audit_record
from portal.audit_log import event_words
from portal.models import AuditEvent
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db


def at(day: int) -> datetime:
    return datetime(2026, 11, day, 15, 0, tzinfo=UTC)


@pytest.fixture
def events(cast):
    institution = InstitutionFactory(name="Bright Smiles", created_by=cast.acme)
    made = [
        audit_record(verb="institution.created", actor=cast.alice, organization=cast.acme, target=institution),
        audit_record(verb="membership.role_changed", actor=cast.alice, organization=cast.acme, target_label="bob@acme.example",
                     details={"from": "developer", "to": "viewer"}),
        audit_record(verb="consent.approved", actor=None, organization=cast.acme, target=institution),
        audit_record(verb="admin.action.enable_production", actor=None, organization=cast.acme, target_label="Acme Dental Apps",
                     actor_label=SUPPORT_LABEL),
        audit_record(verb="api_key.created", actor=cast.bob, organization=cast.acme, target_label="=HYPERLINK(1)",
                     details={"mode": "sandbox"}),
    ]
    for day, event in zip((1, 2, 3, 4, 5), made):
        AuditEvent.objects.filter(pk=event.pk).update(created_at=at(day))
    return made


def test_events_read_as_sentences(events):
    words = [event_words(AuditEvent.objects.get(pk=event.pk), "Acme Dental Apps") for event in events]

    assert words == [
        "alice@acme.example created the institution Bright Smiles",
        "alice@acme.example changed bob@acme.example's role from developer to viewer",
        "Bright Smiles approved access for Acme Dental Apps",
        "Chairside support ran “enable production” on Acme Dental Apps",
        "bob@acme.example created the sandbox API key =HYPERLINK(1)",
    ]


def test_the_page_shows_words_and_the_exact_time_on_hover(alice_client, events):
    page = alice_client.get(reverse("audit_log")).content.decode()

    assert "Bright Smiles approved access for Acme Dental Apps" in page
    assert 'title="Tue 03 Nov 2026, 15:00:00 UTC"' in page and "<time datetime=" in page


@pytest.mark.parametrize("query, shown, hidden", [
    ({"actor": "bob@acme.example"}, "created the sandbox API key", "created the institution"),
    ({"actor": "support"}, "Chairside support ran", "created the institution"),
    ({"actor": "system"}, "approved access", "Chairside support ran"),
    ({"action": "institution.created"}, "created the institution", "role from"),
    ({"start": "2026-11-02", "end": "2026-11-03"}, "role from developer", "created the institution"),
])
def test_it_filters_by_who_action_and_date(alice_client, events, query, shown, hidden):
    page = alice_client.get(reverse("audit_log"), query).content.decode()

    assert shown in page and hidden not in page


def test_a_backwards_date_range_is_explained(alice_client, events):
    page = alice_client.get(reverse("audit_log"), {"start": "2026-11-05", "end": "2026-11-01"}).content.decode()

    assert "Pick a day on or after the first day." in page


def test_the_export_follows_the_filters_and_quotes_formulas(alice_client, events):
    exported = alice_client.get(reverse("audit_log"), {"actor": "bob@acme.example", "format": "csv"})

    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert exported["Content-Disposition"] == 'attachment; filename="audit-log.csv"'
    assert rows[0] == ["time_utc", "who", "action", "event", "target", "ip_address"]
    assert len(rows) == 2 and rows[1][2] == "api_key.created" and rows[1][4] == "'=HYPERLINK(1)"


def test_the_audit_log_takes_a_constant_number_of_queries(alice_client, cast):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert alice_client.get(reverse("audit_log")).status_code == 200
        return len(queries)

    audit_record(verb="institution.created", actor=cast.alice, organization=cast.acme, target_label="One")
    few = count()
    for n in range(40):
        audit_record(verb="invitation.sent", actor=cast.bob if n % 2 else cast.alice, organization=cast.acme,
                     target_label=f"person{n}@example.com", details={"role": "viewer"})
    assert count() == few


def test_an_empty_log_offers_a_first_action(alice_client, cast):
    AuditEvent.objects.all().delete()

    page = alice_client.get(reverse("audit_log")).content.decode()

    assert "Nothing recorded yet" in page and reverse("invite") in page
