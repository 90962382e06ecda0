import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_is_served(db):
    response = Client().get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Chairside API"
    assert "/api/patients" in schema["paths"]
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"


def test_the_docs_page_uses_only_our_own_static_files(db):
    page = Client().get("/api/docs/").content.decode()

    assets = re.findall(r'<script[^>]* src="([^"]+)"', page) + re.findall(r'<link[^>]* href="([^"]+)"', page)
    assert assets, "the docs page loads its assets"
    assert all(a.startswith("/static/") or a.startswith("/api/") or a.startswith("data:") for a in assets), assets
    assert "cdn" not in page.lower()
    for asset in (a for a in assets if a.startswith("/static/")):
        assert Client().get(asset).status_code == 200, asset


def test_the_schema_names_query_parameters_as_the_server_reads_them(db):
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    query = [(path, p) for path, operations in schema["paths"].items() if not path.startswith("/api/schema")
             for operation in operations.values() for p in operation.get("parameters", []) if p["in"] == "query"]
    assert not [path for path, p in query if p["name"] == "format"]
    arrays = {p["name"] for _, p in query if p["schema"].get("type") == "array"}
    assert arrays and all(name.endswith("[]") for name in arrays)
    assert {"provider_ids[]", "lids[]", "include[]"} <= arrays


def test_a_bracketed_array_parameter_from_the_schema_is_understood(api, locations):
    from syncs.models import Charge

    charge = Charge.objects.filter(location=locations[0], claims__isnull=False).first()
    data = api.get(f"charges/{charge.pk}", {"subdomain": api.subdomain, "include[]": ["patient", "claims"]}).json()["data"]
    assert data["patient"]["id"] == charge.patient_id and data["claims"]
def test_the_docs_sit_in_the_portals_frame_for_a_member_and_a_visitor(alice_client):
    member = alice_client.get("/api/docs/").content.decode()
    visitor = Client().get("/api/docs/").content.decode()

    assert 'aria-label="Main"' in member and "Sign out" in member  # the portal's sidebar
    assert "/static/portal/portal.css" in member and "/static/portal/api_docs.css" in member
    assert 'class="public-header"' in visitor and "/accounts/login/" in visitor
    assert "API reference" in visitor and 'data-schema-url="/api/schema/"' in visitor


def test_the_schema_declares_working_hour_times_as_the_server_sends_them(api, locations):
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    declared = schema["components"]["schemas"]["WorkingHour"]["properties"]["begin_time"]
    assert declared.get("format") != "time"  # OpenAPI's time is hh:mm:ss; we send hh:mm
    hour = api.get("working_hours", {"subdomain": api.subdomain, "location_id": locations[0].pk}).json()["data"][0]
    for field in ("begin_time", "end_time"):
        assert re.fullmatch(declared["pattern"], hour[field]), hour[field]
