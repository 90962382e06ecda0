from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.models import AuditEvent
from syncs.models import Appointment, AppointmentType, Patient, Provider
from syncs.sandbox import sandbox_populate
from tests.api.test_authentication import assert_error
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db


def scope(api, location, **extra) -> dict:
    return {"subdomain": api.subdomain, "location_id": location.pk, **extra}


def window(**extra) -> dict:
    now = timezone.now()
    return {"start": (now - timedelta(days=62)).isoformat(), "end": (now + timedelta(days=62)).isoformat(), **extra}


def test_institutions_list_the_sandbox_with_its_locations(api, sandbox, locations):
    body = api.get("institutions", version=None).json()

    assert body["count"] == 1
    [institution] = body["data"]
    assert institution["subdomain"] == sandbox.subdomain
    assert institution["emrs"] == ["opendental"]
    assert [loc["id"] for loc in institution["locations"]] == [loc.pk for loc in locations]
    assert api.get(f"institutions/{sandbox.pk}", version=None).json()["data"]["id"] == sandbox.pk


def test_locations_come_grouped_by_institution(api, locations):
    body = api.get("locations", {"subdomain": api.subdomain}, version=None).json()

    assert body["data"][0]["subdomain"] == api.subdomain
    assert [loc["name"] for loc in body["data"][0]["locations"]] == [loc.name for loc in locations]
    one = api.get(f"locations/{locations[0].pk}", version=None).json()["data"]
    assert one["tz"] == locations[0].tz and one["institution_id"] == locations[0].institution_id
    by_foreign_id = api.get("locations", {"foreign_id": "2"}, version=None).json()["data"][0]["locations"]
    assert [loc["foreign_id"] for loc in by_foreign_id] == ["2"]


def test_sync_status_is_green_for_the_sandbox_and_filters(api, locations):
    body = api.get("sync_status", version=None).json()

    [row] = body["data"]
    assert row["read_status"] == "green" and row["write_status"] == "green"
    assert row["emr"]["name"] == "opendental" and row["emr"]["type"] == "onprem"
    assert api.get("sync_status", {"read_status": "red"}, version=None).json()["data"] == []
    only_second = api.get("sync_status", {"location_ids[]": locations[1].pk}, version=None).json()["data"]
    assert [loc["id"] for loc in only_second[0]["locations"]] == [locations[1].pk]
    assert_error(api.get("sync_status", {"read_status": "purple"}, version=None), 400, "read_status")


def test_cursor_pagination_walks_forward_and_back(api, locations):
    params = scope(api, locations[0], per_page=50)
    total = Patient.objects.filter(location=locations[0]).count()

    first = api.get("patients", params).json()
    second = api.get("patients", {**params, "end_cursor": first["page_info"]["end_cursor"]}).json()
    back = api.get("patients", {**params, "start_cursor": second["page_info"]["start_cursor"]}).json()

    assert first["count"] == total
    assert first["page_info"]["has_previous_page"] is False and first["page_info"]["has_next_page"] is True
    assert second["page_info"]["has_previous_page"] is True
    assert [p["id"] for p in back["data"]] == [p["id"] for p in first["data"]]
    assert first["data"][-1]["id"] < second["data"][0]["id"]
    seen, cursor = [], None
    while True:
        page = api.get("patients", {**params, **({"end_cursor": cursor} if cursor else {})}).json()
        seen += [p["id"] for p in page["data"]]
        if not page["page_info"]["has_next_page"]:
            break
        cursor = page["page_info"]["end_cursor"]
    assert len(seen) == len(set(seen)) == total


def test_v2_paginates_by_page_number(api, locations):
    params = scope(api, locations[0], per_page=10)

    page1 = api.get("patients", {**params, "page": 1}, version="v2").json()
    page2 = api.get("patients", {**params, "page": 2}, version="v2").json()

    assert "page_info" not in page1
    assert len(page1["data"]) == 10 and page1["data"][-1]["id"] < page2["data"][0]["id"]


@pytest.mark.parametrize("bad", [{"per_page": 0}, {"per_page": 1001}, {"end_cursor": "%%%"}, {"page": 0}])
def test_bad_paging_is_a_400(api, locations, bad):
    assert_error(api.get("patients", scope(api, locations[0], **bad)), 400)


def test_patients_filter_by_name_email_phone_and_birth_date(api, locations):
    patient = Patient.objects.filter(location=locations[0]).order_by("id")[3]
    base = scope(api, locations[0], per_page=100)

    for filters in ({"name": patient.last_name}, {"email": patient.email},
                    {"phone_number": patient.bio["phone_number"]}, {"date_of_birth": patient.bio["date_of_birth"]},
                    {"foreign_id": patient.foreign_id}):
        ids = [p["id"] for p in api.get("patients", {**base, **filters}).json()["data"]]
        assert patient.pk in ids, filters
    detail = api.get(f"patients/{patient.pk}", {"subdomain": api.subdomain}).json()["data"]
    assert detail["location_ids"] == [locations[0].pk]


def test_providers_operatories_types_and_working_hours(api, locations):
    location = locations[0]
    providers = api.get("providers", scope(api, location, per_page=100)).json()["data"]
    operatories = api.get("operatories", scope(api, location, per_page=100)).json()["data"]
    types = api.get("appointment_types", scope(api, location), version=None).json()
    hours = api.get("working_hours", scope(api, location, per_page=100)).json()["data"]

    assert len(providers) == Provider.objects.filter(location=location).count()
    assert providers[0]["availabilities"] and providers[0]["locations"][0]["id"] == location.pk
    assert {o["location_id"] for o in operatories} == {location.pk}
    assert types["count"] == AppointmentType.objects.filter(location=location).count()
    assert {h["location_id"] for h in hours} == {location.pk}
    assert hours[0]["begin_time"].count(":") == 1
    provider_id = providers[0]["id"]
    assert api.get(f"providers/{provider_id}", {"subdomain": api.subdomain}).json()["data"]["id"] == provider_id
    assert api.get(f"operatories/{operatories[0]['id']}", {"subdomain": api.subdomain}).status_code == 200
    assert_error(api.get("providers/999999", {"subdomain": api.subdomain}), 404)


def test_appointments_in_a_window(api, locations):
    body = api.get("appointments", {**scope(api, locations[0]), **window(per_page=1000)}).json()

    stored = Appointment.objects.filter(location=locations[0]).count()
    assert body["count"] == stored == len(body["data"])
    first = body["data"][0]
    assert first["timezone"] == locations[0].tz and first["timezone_offset"].startswith("-0")
    cancelled = api.get("appointments", {**scope(api, locations[0]), **window(cancelled="true", per_page=1000)}).json()
    assert all(a["cancelled"] for a in cancelled["data"])
    assert_error(api.get("appointments", {"subdomain": api.subdomain, **window()}), 400, "location_id")
    assert_error(api.get("appointments", scope(api, locations[0])), 400, "start")


def test_creating_a_patient_and_booking_an_appointment_in_the_sandbox(api, locations):
    location = locations[0]
    provider = Provider.objects.filter(location=location).first()
    created = api.post("patients", {
        "provider": {"provider_id": provider.pk},
        "patient": {"first_name": "Ana", "last_name": "Diaz", "email": "ana@example.com",
                    "bio": {"date_of_birth": "1984-02-11", "phone_number": "5125550199"}},
    }, scope(api, location))
    assert created.status_code == 201, created.content
    patient = created.json()["data"]["user"]
    start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)

    booked = api.post("appointments", {"appt": {"patient_id": patient["id"], "provider_id": provider.pk,
                                                "start_time": start.isoformat()}}, scope(api, location))

    assert booked.status_code == 201, booked.content
    appt = booked.json()["data"]["appt"]
    assert appt["patient_id"] == patient["id"] and appt["provider_name"] == provider.name
    assert Appointment.objects.get(pk=appt["id"]).source == "api"
    read_back = api.get(f"appointments/{appt['id']}", {"subdomain": api.subdomain}, version=None).json()["data"]
    assert read_back["start_time"].startswith(start.strftime("%Y-%m-%dT%H:%M"))
    patched = api.patch(f"appointments/{appt['id']}", {"appt": {"cancelled": True, "note": "Called to cancel"}},
                        {"subdomain": api.subdomain})
    assert patched.status_code == 200
    assert patched.json()["data"]["appt"]["cancelled"] is True
    assert Appointment.objects.get(pk=appt["id"]).cancelled_at is not None


def test_bad_writes_get_field_messages_and_store_nothing(api, locations):
    location = locations[0]
    before = (Patient.objects.count(), Appointment.objects.count())
    other_provider = Provider.objects.filter(location=locations[1]).first()

    bad_patient = api.post("patients", {"provider": {"provider_id": other_provider.pk},
                                        "patient": {"first_name": "A", "last_name": "B", "email": "nope",
                                                    "bio": {"phone_number": "x"}}}, scope(api, location))
    body = assert_error(bad_patient, 400)
    assert any(m.startswith("patient.email:") for m in body["error"])
    assert any(m.startswith("patient.bio.date_of_birth:") for m in body["error"])
    wrong_location = api.post("patients", {"provider": {"provider_id": other_provider.pk},
                                           "patient": {"first_name": "A", "last_name": "B", "email": "a@example.com",
                                                       "bio": {"date_of_birth": "1990-01-01", "phone_number": "5125550100"}}},
                              scope(api, location))
    assert_error(wrong_location, 400, "provider.provider_id")
    assert_error(api.post("appointments", {"appt": {"patient_id": 1}}, scope(api, location)), 400, "appt.provider_id")
    not_json = api.client.post(f"/api/appointments?subdomain={api.subdomain}&location_id={location.pk}", "{oops",
                               content_type="application/json", **api.headers())
    assert_error(not_json, 400)
    assert (Patient.objects.count(), Appointment.objects.count()) == before


def test_appointment_types_can_be_created_changed_and_deleted(api, locations):
    created = api.post("appointment_types", {"location_id": locations[0].pk,
                                             "appointment_type": {"name": "Whitening", "minutes": 45}},
                       {"subdomain": api.subdomain}, version=None)
    assert created.status_code == 201, created.content
    type_id = created.json()["data"]["id"]

    patched = api.patch(f"appointment_types/{type_id}", {"appointment_type": {"minutes": 50}}, {"subdomain": api.subdomain},
                        version=None)
    deleted = api.delete(f"appointment_types/{type_id}", {"subdomain": api.subdomain})

    assert patched.json()["data"]["minutes"] == 50
    assert deleted.status_code == 200 and deleted.json()["data"]["id"] == type_id
    assert not AppointmentType.objects.filter(pk=type_id).exists()
    audit = AuditEvent.objects.get(verb="appointment_type.deleted")
    assert audit.target_label == "Whitening" and audit.actor is None and audit.details["api_key"]
    assert_error(api.post("appointment_types", {"appointment_type": {"name": "X", "minutes": 1}},
                          {"subdomain": api.subdomain}, version=None), 400, "minutes")


def test_available_slots_avoid_booked_times(api, locations):
    location = locations[0]
    provider = Provider.objects.filter(location=location).order_by("id").first()
    start_date = (timezone.now() + timedelta(days=7)).date()
    params = {"subdomain": api.subdomain, "start_date": start_date.isoformat(), "days": 5,
              "lids[]": location.pk, "pids[]": provider.pk, "slot_length": 30}

    body = api.get("available_slots", params).json()

    assert body["code"] is True and body["data"]
    slots = [s for group in body["data"] for s in group["slots"]]
    assert slots
    booked = Appointment.objects.filter(provider=provider, cancelled=False,
                                        start_time__date__gte=start_date, start_time__date__lte=start_date + timedelta(days=5))

    for slot in slots:
        begin, end = datetime.fromisoformat(slot["time"]), datetime.fromisoformat(slot["end_time"])
        assert not any(a.start_time < end and begin < a.end_time for a in booked), slot
    assert_error(api.get("available_slots", {**params, "days": 90}), 400, "days")
    no_provider = {k: v for k, v in params.items() if k != "pids[]"}
    assert_error(api.get("available_slots", no_provider), 400, "pids")


def count_queries(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = call()
        assert response.status_code == 200, response.content
    return len(queries)


LIST_CALLS = {
    "patients": lambda api, loc, n: api.get("patients", scope(api, loc, per_page=n)),
    "appointments": lambda api, loc, n: api.get("appointments", {**scope(api, loc), **window(per_page=n)}),
    "providers": lambda api, loc, n: api.get("providers", scope(api, loc, per_page=n)),
    "operatories": lambda api, loc, n: api.get("operatories", scope(api, loc, per_page=n)),
    "working_hours": lambda api, loc, n: api.get("working_hours", scope(api, loc, per_page=n)),
    "patients v2": lambda api, loc, n: api.get("patients", scope(api, loc, per_page=n), version="v2"),
}


@pytest.mark.parametrize("name", list(LIST_CALLS))
def test_list_endpoints_take_a_constant_number_of_queries(api, locations, name):
    call = LIST_CALLS[name]

    few = count_queries(lambda: call(api, locations[0], 2))
    many = count_queries(lambda: call(api, locations[0], 100))

    assert few == many
    assert many <= 10


@pytest.mark.parametrize("path, scoped", [("institutions", False), ("locations", False), ("sync_status", False),
                                          ("appointment_types", True)])
def test_small_lists_take_a_constant_number_of_queries(api, sandbox, path, scoped):
    query = {"subdomain": api.subdomain} if scoped else {}
    few = count_queries(lambda: api.get(path, query, version=None))
    for n in range(2):  # two more institutions reachable by the same key
        extra = InstitutionFactory(name=f"Extra {n}", is_sandbox=True, created_by=sandbox.accesses.get().organization)
        sandbox_populate(institution=extra)

    many = count_queries(lambda: api.get(path, query, version=None))

    assert few == many
