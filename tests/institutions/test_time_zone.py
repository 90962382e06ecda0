"""The practice's time zone: one list of allowed zones (form, CSV, model) and one reading of it (Institution.zone)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from institutions.forms import US_STATES, InstitutionForm
from institutions.models import Institution, PracticeTimeZone
from syncs.models import EngineerSlot, Sync, SyncStatus
from tests.factories import SyncFactory

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
FORM = {
    "name": "Isla Dental", "street_address": "1 Calle Sol", "city": "San Juan", "state": "PR", "zip_code": "00901",
    "tz": "America/Puerto_Rico", "phone_number": "(787) 555-0100", "contact_name": "Ana", "contact_email": "ana@isla.example",
}


def test_the_form_and_the_model_offer_the_same_zones():
    assert InstitutionForm().fields["tz"].choices == Institution._meta.get_field("tz").choices == PracticeTimeZone.choices


def test_every_state_of_the_csv_gets_a_zone_the_form_offers():
    offered = {value for value, _ in InstitutionForm().fields["tz"].choices}
    assert {PracticeTimeZone.of_state(state) for state in US_STATES} <= offered
    assert PracticeTimeZone.of_state("PR") == "America/Puerto_Rico"
    assert PracticeTimeZone.of_state("TX") == "America/Chicago" and PracticeTimeZone.of_state("AZ") == "America/Phoenix"


def test_a_practice_in_puerto_rico_can_be_created_with_the_form():
    form = InstitutionForm(FORM)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["tz"] == "America/Puerto_Rico"


def test_the_form_refuses_a_zone_outside_the_list():
    form = InstitutionForm({**FORM, "tz": "Europe/Paris"})

    assert not form.is_valid() and "tz" in form.errors


def test_the_model_refuses_a_zone_outside_the_list():
    institution = Institution(name="Paris Dental", subdomain="paris-dental", tz="Europe/Paris")

    with pytest.raises(ValidationError) as refused:
        institution.full_clean()
    assert "tz" in refused.value.message_dict


def test_the_zone_is_the_practice_zone():
    assert Institution(tz="America/Chicago").zone == ZoneInfo("America/Chicago")


@pytest.mark.parametrize("stored", ["Mars/Olympus_Mons", "", "../etc/passwd"])
def test_a_zone_python_does_not_know_falls_back_to_utc(stored):
    assert Institution(tz=stored).zone == UTC


def test_a_sync_of_a_practice_with_an_unknown_zone_shows_its_installation_in_utc_instead_of_failing():
    sync = SyncFactory(institution__tz="Mars/Olympus_Mons", status=SyncStatus.INSTALL_SCHEDULED)
    starts = datetime(2030, 6, 4, 15, 0, tzinfo=UTC)
    EngineerSlot.objects.create(engineer="Eve", starts_at=starts, ends_at=starts + timedelta(hours=1), sync=sync)

    assert Sync.objects.get(pk=sync.pk).next_step.text == "Installation scheduled for Tue 4 Jun, 15:00"


def test_expected_downtime_is_judged_in_the_practice_zone():
    institution = Institution(tz="America/Los_Angeles")
    sync = Sync(institution=institution, downtime_schedule="nights")
    # 03:00 UTC is 20:00 the evening before in Los Angeles (night there), and daytime in UTC.
    moment = datetime(2030, 6, 4, 3, 0, tzinfo=UTC)

    assert sync.in_expected_downtime(moment)
    institution.tz = "Mars/Olympus_Mons"
    assert not sync.in_expected_downtime(moment + timedelta(hours=10))


def test_the_form_tells_its_script_every_states_zone():
    import json

    rendered = str(InstitutionForm()["tz"])
    zones = json.loads(InstitutionForm().fields["tz"].widget.attrs["data-zones"])

    assert 'data-zone-from="id_state"' in rendered
    assert {state: zones[state] for state in ("TX", "AZ", "PR", "NY")} == {
        "TX": "America/Chicago", "AZ": "America/Phoenix", "PR": "America/Puerto_Rico", "NY": "America/New_York"}
    assert set(zones) >= set(US_STATES) - {""}


def test_the_server_accepts_a_zone_other_than_the_states():
    form = InstitutionForm({**FORM, "state": "TX", "city": "El Paso", "zip_code": "79901", "tz": "America/Denver"})

    assert form.is_valid(), form.errors
    assert form.cleaned_data["tz"] == "America/Denver"
