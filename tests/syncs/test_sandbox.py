"""The sandbox's sample practice: realistic shape, a sane schedule, reproducible and cheap to build."""

import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from institutions.models import Institution, Location
from syncs.models import (
    Adjustment,
    AdjustmentType,
    Appointment,
    AppointmentDescriptor,
    AppointmentType,
    Charge,
    Claim,
    ClinicalNote,
    DocumentType,
    FeeSchedule,
    FeeScheduleProcedure,
    GuarantorBalance,
    InsuranceBalance,
    InsuranceCoverage,
    InsurancePlan,
    Operatory,
    Patient,
    PatientAlert,
    PatientDocument,
    PatientRecall,
    Payment,
    PaymentPlan,
    PaymentType,
    Procedure,
    Provider,
    RecallType,
    StaffMember,
    Sync,
    TreatmentPlan,
    WorkingHour,
    WorkingHourLabel,
)
from syncs.sandbox import sandbox_populate
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db

# Mid-March: the window crosses the start of daylight saving time (8 March 2026).
TODAY = date(2026, 3, 11)
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@pytest.fixture
def institution() -> Institution:
    institution = InstitutionFactory(subdomain="bright-smiles-demo", is_sandbox=True)
    sandbox_populate(institution=institution, today=TODAY)
    return institution


def appointments_of(institution: Institution):
    return Appointment.objects.filter(institution=institution).select_related("location", "appointment_type", "patient")


def test_it_creates_two_active_opendental_locations_under_one_active_sync(institution):
    sync = Sync.objects.get(institution=institution)
    assert (sync.ehr, sync.status) == ("opendental", Sync.Status.ACTIVE)
    assert sync.last_read_at and sync.last_write_at
    locations = list(institution.locations.order_by("foreign_id"))
    assert [(loc.foreign_id, loc.foreign_id_type, loc.tz) for loc in locations] == [
        ("1", "msg-opendental", "America/Chicago"),
        ("2", "msg-opendental", "America/Denver"),
    ]
    assert all(loc.active and loc.sync == sync and not loc.inactive for loc in locations)
    assert [loc.insert_appt_client for loc in locations] == [True, False]
    assert all(loc.name and loc.street_address and re.fullmatch(r"\d{10}", loc.phone_number) for loc in locations)


def test_it_staffs_each_location_with_providers_chairs_types_and_hours(institution):
    for location in institution.locations.all():
        providers = Provider.objects.filter(location=location)
        assert providers.count() == 6
        assert Operatory.objects.filter(location=location).count() == 6
        types = {t.name: t.minutes for t in AppointmentType.objects.filter(location=location)}
        assert types == {"New Patient Exam": 60, "Cleaning": 60, "Emergency": 30, "Crown Prep": 90, "Consultation": 30}
        assert all(re.fullmatch(r"\d{10}", p.npi) for p in providers)
        assert any(p.display_name.startswith("Dr. ") for p in providers)
        assert any(p.display_name.endswith(", RDH") for p in providers)
        for wh in WorkingHour.objects.filter(location=location).select_related("provider", "operatory"):
            assert wh.provider.location_id == wh.operatory.location_id == location.pk
            assert set(wh.days) <= set(WEEKDAYS[:5]) and wh.begin_time < wh.end_time
            linked = list(wh.appointment_types.all())
            assert linked and all(t.location_id == location.pk for t in linked)
        assert WorkingHour.objects.filter(location=location).values("provider").distinct().count() == 6


def test_it_creates_at_least_a_hundred_patients_per_location_with_sample_bios(institution):
    patients = list(Patient.objects.filter(institution=institution))
    assert len(patients) >= 200
    for location in institution.locations.all():
        assert sum(p.location_id == location.pk for p in patients) >= 100
    assert any(p.inactive for p in patients) and not all(p.inactive for p in patients)
    for p in patients:
        assert p.first_name and p.last_name and p.provider.location_id == p.location_id
        date.fromisoformat(p.bio["date_of_birth"])
        assert re.fullmatch(r"\d{10}", p.bio["phone_number"])
        assert p.bio["gender"] in {"Male", "Female"}
        assert p.bio["address_line_1"] and p.bio["city"] and p.bio["state"] and p.bio["zip_code"]
        assert p.email == "" or p.email.endswith("@example.com")


def test_it_spreads_appointments_over_the_past_and_next_sixty_days(institution):
    appointments = list(appointments_of(institution))
    assert len(appointments) >= 1000
    for location in institution.locations.all():
        assert sum(a.location_id == location.pk for a in appointments) >= 500
    days = [a.start_time.astimezone(ZoneInfo(a.location.tz)).date() for a in appointments]
    assert min(days) >= TODAY - timedelta(days=60) and max(days) <= TODAY + timedelta(days=60)
    assert sum(d < TODAY for d in days) >= 300 and sum(d > TODAY for d in days) >= 300


def test_it_books_only_on_weekdays_inside_the_providers_working_hours(institution):
    hours = {
        wh.provider_id: wh
        for wh in WorkingHour.objects.filter(institution=institution).prefetch_related("appointment_types")
    }
    for a in appointments_of(institution):
        assert a.start_time.tzinfo is not None
        wh = hours[a.provider_id]
        start = a.start_time.astimezone(ZoneInfo(a.location.tz))
        end = a.end_time.astimezone(ZoneInfo(a.location.tz))
        assert WEEKDAYS[start.weekday()] in wh.days
        assert wh.begin_time <= start.time() and end.time() <= wh.end_time and start.date() == end.date()
        assert a.operatory_id == wh.operatory_id
        assert a.patient.location_id == a.location_id and a.appointment_type.location_id == a.location_id
        assert a.appointment_type_id in {t.pk for t in wh.appointment_types.all()}


def test_it_never_double_books_an_operatory(institution):
    by_operatory = defaultdict(list)
    for a in Appointment.objects.filter(institution=institution):
        by_operatory[a.operatory_id].append((a.start_time, a.end_time))
    assert len(by_operatory) == 12
    for slots in by_operatory.values():
        slots.sort()
        assert all(end <= next_start for (_, end), (next_start, _) in zip(slots, slots[1:]))


def test_it_makes_each_appointment_as_long_as_its_type(institution):
    for a in appointments_of(institution):
        assert a.end_time - a.start_time == timedelta(minutes=a.appointment_type.minutes)


def test_it_keeps_statuses_consistent_with_the_clock(institution):
    end_of_today = datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    appointments = list(appointments_of(institution))
    for a in appointments:
        for stamp in [a.confirmed_at, a.cancelled_at, a.checkin_at, a.checked_out_at]:
            assert stamp is None or stamp <= end_of_today
        assert a.confirmed == (a.confirmed_at is not None)
        assert a.cancelled == (a.cancelled_at is not None)
        assert not (a.cancelled and (a.checkin_at or a.checked_out))
        if a.start_time >= end_of_today:
            assert not (a.checkin_at or a.checked_out or a.patient_missed)
    past = [a for a in appointments if a.end_time < end_of_today - timedelta(days=1)]
    assert any(a.checked_out for a in past) and any(a.patient_missed for a in past)
    assert any(a.cancelled for a in appointments) and any(a.confirmed for a in appointments)
    assert not all(a.confirmed for a in appointments)


LEDGER_KINDS = [AppointmentDescriptor, WorkingHourLabel, Procedure, TreatmentPlan, FeeSchedule, FeeScheduleProcedure,
                InsurancePlan, InsuranceCoverage, Charge, Claim, AdjustmentType, Adjustment, PaymentType, Payment,
                GuarantorBalance, InsuranceBalance, RecallType, PatientRecall, ClinicalNote, DocumentType,
                PatientDocument, PaymentPlan, PatientAlert, StaffMember]


def test_it_gives_every_location_records_of_every_kind(institution):
    for location in institution.locations.all():
        empty = [model.__name__ for model in LEDGER_KINDS if not model.objects.filter(location=location).exists()]
        assert empty == []


def test_its_ledger_adds_up_and_stays_inside_the_past_weeks(institution):
    moment = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC)
    for charge in Charge.objects.filter(institution=institution).select_related("procedure__appointment"):
        assert charge.fee == charge.procedure.fee > 0 and charge.procedure.status == "completed"
        assert charge.procedure.appointment.start_time.date() == charge.charged_at
        assert moment.date() - timedelta(days=15) <= charge.charged_at <= moment.date()
    for claim in Claim.objects.filter(institution=institution).prefetch_related("payouts"):
        assert claim.primary_insurance_plan_id and claim.payouts.all()
        assert (claim.received_at is not None) == (claim.status == "received")
    assert Payment.objects.filter(institution=institution, claim__isnull=False).exists()
    assert Payment.objects.filter(institution=institution, claim__isnull=True).exists()


def test_it_gives_every_record_kind_unique_foreign_ids_per_location(institution):
    for model in [Provider, Operatory, AppointmentType, WorkingHour, Patient, Appointment, *LEDGER_KINDS]:
        rows = list(model.objects.filter(institution=institution).values("location", "foreign_id", "foreign_id_type"))
        assert all(r["foreign_id"] and r["foreign_id_type"] == "msg-opendental" for r in rows)
        assert len({(r["location"], r["foreign_id"]) for r in rows}) == len(rows)
        assert model.objects.filter(institution=institution, last_sync_time__isnull=True).count() == 0


def snapshot(institution: Institution) -> dict:
    return {
        "providers": list(Provider.objects.filter(institution=institution).values_list("display_name", "npi")),
        "patients": list(
            Patient.objects.filter(institution=institution).values_list("first_name", "last_name", "email", "bio")
        ),
        "payments": list(Payment.objects.filter(institution=institution).values_list("foreign_id", "amount", "paid_at")),
        "recalls": list(PatientRecall.objects.filter(institution=institution).values_list("patient__foreign_id", "date_due")),
        "schedule": list(
            Appointment.objects.filter(institution=institution).values_list(
                "foreign_id", "start_time", "end_time", "operatory__name", "patient__foreign_id"
            )
        ),
    }


def test_it_builds_the_same_practice_for_the_same_subdomain(institution):
    before = snapshot(institution)
    institution.delete()
    assert not Location.objects.exists() and not Appointment.objects.exists()
    again = InstitutionFactory(subdomain="bright-smiles-demo", is_sandbox=True)
    sandbox_populate(institution=again, today=TODAY)
    assert snapshot(again) == before


def test_it_builds_a_different_practice_for_another_subdomain(institution):
    other = InstitutionFactory(subdomain="other-co-demo", is_sandbox=True)
    sandbox_populate(institution=other, today=TODAY)
    assert snapshot(other)["patients"] != snapshot(institution)["patients"]


def test_it_does_nothing_the_second_time(institution):
    counts = [model.objects.count() for model in [Sync, Location, Provider, Patient, Appointment, WorkingHour]]
    with CaptureQueriesContext(connection) as queries:
        sandbox_populate(institution=institution, today=TODAY)
    assert len(queries) == 1
    assert [model.objects.count() for model in [Sync, Location, Provider, Patient, Appointment, WorkingHour]] == counts


def test_it_centres_the_schedule_on_today_in_utc_by_default():
    institution = InstitutionFactory(subdomain="bright-smiles-demo", is_sandbox=True)
    sandbox_populate(institution=institution)
    today = datetime.now(UTC).date()
    starts = [a.start_time.date() for a in Appointment.objects.filter(institution=institution)]
    assert min(starts) >= today - timedelta(days=61) and max(starts) <= today + timedelta(days=61)


def test_it_inserts_in_bulk_with_a_bounded_number_of_queries():
    institution = InstitutionFactory(subdomain="bright-smiles-demo", is_sandbox=True)
    with CaptureQueriesContext(connection) as queries:
        sandbox_populate(institution=institution, today=TODAY)
    assert Appointment.objects.filter(institution=institution).count() >= 1000
    # Nothing per row: a few statements per kind and location on PostgreSQL (about 70). SQLite in Django 5.2
    # takes 999 parameters per statement (~35 appointments per INSERT), so there it needs ~135.
    assert len(queries) <= (150 if connection.vendor == "sqlite" else 90)
