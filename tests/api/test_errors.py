"""Errors on /api/ paths are always the JSON envelope: unknown paths, unrouted methods, server errors."""

import json

import pytest
from django.test import Client

from syncs import api as syncs_api

pytestmark = pytest.mark.django_db


def assert_envelope(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert body["code"] is False and body["data"] is None and body["error"]
    return body


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_any_method_on_an_unknown_api_path_is_the_envelopes_404(method):
    response = getattr(Client(enforce_csrf_checks=True), method)("/api/no_such_thing/42")
    body = assert_envelope(response, 404)
    assert f"{method.upper()} /api/no_such_thing/42" in body["error"][0]


def test_a_method_a_route_does_not_serve_is_the_envelopes_404_with_allow(api):
    response = api.client.put("/api/providers", **api.headers())
    assert_envelope(response, 404)
    assert "GET" in response["Allow"]


def test_an_unexpected_error_in_a_view_is_the_envelopes_500(api, locations, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(syncs_api.OperatoryList, "get", broken)
    response = api.get("operatories", {"subdomain": api.subdomain, "location_id": locations[0].pk})
    body = assert_envelope(response, 500)
    assert "boom" not in str(body)


def test_the_500_handler_answers_api_paths_in_the_envelope(rf):
    from portal.api.views import server_error

    assert_envelope(server_error(rf.get("/api/providers")), 500)
    assert server_error(rf.get("/users/"))["Content-Type"].startswith("text/html")


def test_available_slots_for_an_unknown_appointment_type_or_location_is_a_400_as_the_reference_allows(api, locations):
    base = {"subdomain": api.subdomain, "start_date": "2026-03-02", "days": 2, "lids[]": locations[0].pk}
    unknown_type = api.get("available_slots", {**base, "appointment_type_id": 999999})
    assert_envelope(unknown_type, 400)
    assert unknown_type.json()["error"][0].startswith("appointment_type_id")
    unknown_location = api.get("available_slots", {**base, "lids[]": 999999, "pids[]": 1})
    assert_envelope(unknown_location, 400)


def test_options_on_an_api_view_is_the_envelopes_404_not_drf_metadata(api, locations):
    response = api.client.options(f"/api/patients?subdomain={api.subdomain}&location_id={locations[0].pk}",
                                  **api.headers())
    body = assert_envelope(response, 404)
    assert "OPTIONS /api/patients" in body["error"][0]
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD", "POST"}


def test_a_body_in_a_media_type_we_do_not_read_is_a_400_as_the_reference_declares_no_415(api, locations):
    response = api.client.post(f"/api/patients?subdomain={api.subdomain}&location_id={locations[0].pk}", "hello",
                               content_type="text/plain", **api.headers())
    body = assert_envelope(response, 400)
    assert "text/plain" in body["error"][0]


def test_an_accept_header_we_cannot_satisfy_still_gets_json_as_the_reference_declares_no_406(api):
    response = api.client.get("/api/institutions", HTTP_ACCEPT="text/html", **api.headers())
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert response.json()["code"] is True
