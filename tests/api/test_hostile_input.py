"""Bad input gets a clear error in the envelope, never a 500, on every endpoint."""

import json

import pytest

pytestmark = pytest.mark.django_db

HOSTILE_VALUES = ["99999999999999999999999", "-1", "\x00", "'; DROP TABLE patients; --", "ü" * 300, "", "[]",
                  "2024-13-45", "9" * 18]
LIST_PATHS = ["institutions", "locations", "sync_status", "providers", "operatories", "appointment_types", "patients",
              "appointments", "working_hours", "available_slots"]
PARAMS = ["subdomain", "location_id", "per_page", "page", "start_cursor", "end_cursor", "start", "end", "start_date",
          "days", "lids[]", "pids[]", "location_ids[]", "read_status", "foreign_id", "updated_since", "date_of_birth",
          "inactive", "sort"]


def assert_envelope_error_or_ok(response) -> None:
    assert response.status_code in (200, 400, 403, 404), (response.status_code, response.content[:300])
    body = json.loads(response.content)
    assert set(body) >= {"code", "description", "error", "data"}


@pytest.mark.parametrize("path", LIST_PATHS)
def test_hostile_query_parameters(api, locations, path):
    base = {"subdomain": api.subdomain, "location_id": locations[0].pk}
    for name in PARAMS:
        for value in HOSTILE_VALUES:
            assert_envelope_error_or_ok(api.get(path, {**base, name: value}))


@pytest.mark.parametrize("path", ["providers", "operatories", "appointment_types", "patients", "appointments",
                                  "locations", "institutions"])
def test_hostile_ids_in_paths(api, path):
    for raw in ["99999999999999999999", "9223372036854775807", "0", "abc", "-5"]:
        response = api.client.get(f"/api/{path}/{raw}?subdomain={api.subdomain}", **api.headers())
        assert_envelope_error_or_ok(response)


@pytest.mark.parametrize("body", ['{"appt": []}', '[]', '"x"', '{"appt": {"patient_id": 99999999999999999999}}',
                                  '{"appt": {"patient_id": 1, "provider_id": 1, "start_time": "\\u0000"}}',
                                  '{"patient": {"first_name": "\\u0000"}}', 'null', '{' * 5000])
@pytest.mark.parametrize("path", ["appointments", "patients", "appointment_types"])
def test_hostile_bodies(api, locations, path, body):
    url = f"/api/{path}?subdomain={api.subdomain}&location_id={locations[0].pk}"
    response = api.client.post(url, body, content_type="application/json", **api.headers())
    assert_envelope_error_or_ok(response)
