"""Live responses of every endpoint we serve, checked against the NexHealth reference (through the compact
fixture derived from it by scripts/derive_nexhealth_contract.py) and against our own OpenAPI schema."""

import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from django.test import Client
from django.utils import timezone

from syncs.models import Appointment, AppointmentType, Operatory, Patient, Provider

pytestmark = pytest.mark.django_db
CONTRACT = json.loads((Path(__file__).parent / "nexhealth_contract.json").read_text())
OPERATIONS = CONTRACT["operations"]

# Reference fields we do not return yet, per operation, so nothing is dropped silently. Each is a sub-resource
# of features Chairside does not have (ledger, insurance, forms, descriptors, labels, requestables).
NOT_YET_SERVED = {
    "GET /providers": {"provider_requestables"},
    "GET /providers/{id}": {"provider_requestables"},
    "GET /patients": {"hipaa"},
    "GET /patients/{id}": {"adjustments", "charges", "children", "guarantor", "hipaa", "insurance_coverages",
                           "last_visited_appointment", "patient_alerts", "payments", "procedures", "provider"},
    "POST /patients": {"preferred_locale"},
    "GET /appointments": {"is_guardian", "is_past_patient", "patient_confirmed", "patient_confirmed_at"},
    "GET /appointments/{id}": {"appointment_type", "booking_details", "descriptors", "is_guardian", "is_past_patient",
                               "patient", "patient_confirmed", "patient_confirmed_at", "procedures", "operatory",
                               "provider", "payments", "deposit", "stripe_payment_intent_id"},
    "POST /appointments": {"is_guardian", "is_past_patient", "patient_confirmed", "patient_confirmed_at",
                           "stripe_client_secret"},
    "PATCH /appointments/{id}": {"is_guardian", "is_past_patient", "patient_confirmed", "patient_confirmed_at",
                                 "stripe_client_secret"},
    "GET /working_hours": {"label"},
    "GET /available_slots": {"slots.working_hour_label_id"},
}

JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "array": list,
              "null": type(None)}


def type_matches(value, node) -> bool:
    types = node if isinstance(node, list) else [node["type"]] if isinstance(node, dict) else [node]
    flat = [t for entry in types for t in (entry if isinstance(entry, list) else [entry])]
    if isinstance(value, bool):
        return "boolean" in flat
    return any(isinstance(value, JSON_TYPES[t]) for t in flat)


def check_item(item: dict, spec: dict, path: str, problems: list[str], served: set[str]) -> None:
    for key, value in item.items():
        served.add(f"{path}{key}")
        if key not in spec:
            problems.append(f"{path}{key} is not in the reference")
            continue
        node = spec[key]
        if not type_matches(value, node):
            problems.append(f"{path}{key}: {value!r} is not {node}")
            continue
        if isinstance(node, dict) and value is not None:
            if node.get("enum") and value not in node["enum"]:
                problems.append(f"{path}{key}: {value!r} not in {node['enum']}")
            if node.get("properties") and isinstance(value, dict):
                check_item(value, node["properties"], f"{path}{key}.", problems, served)
            items = node.get("items")
            if isinstance(items, dict) and items.get("properties") and isinstance(value, list):
                for element in value:
                    check_item(element, items["properties"], f"{path}{key}.", problems, served)


def check_against_reference(operation: str, response) -> None:
    spec = OPERATIONS[operation]["responses"][str(response.status_code)]
    if response.status_code == 204:  # No Content, in the reference and here
        assert not spec["content_types"] and not response.content, operation
        return
    body = response.json()
    problems: list[str] = []
    check_item({k: v for k, v in body.items() if k != "data"}, CONTRACT["envelope"]["fields"], "", problems, set())
    data = body["data"]
    assert isinstance(data, list if spec["data_type"] == "array" else dict), operation
    items = data if isinstance(data, list) else [data]
    assert items, f"{operation} returned no data to check"
    served: set[str] = set()
    for item in items:
        check_item(item, spec["data_item"], "", problems, served)
    assert not problems, f"{operation}: " + "; ".join(sorted(set(problems)))
    top_level_missing = set(spec["data_item"]) - {s.split(".")[0] for s in served}
    assert top_level_missing <= NOT_YET_SERVED.get(operation, set()), f"{operation} lacks {sorted(top_level_missing)}"


def to_json_schema(node, components: dict):
    """OpenAPI 3.0 schema -> JSON Schema (nullable, $ref resolution)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return to_json_schema(components[node["$ref"].split("/")[-1]], components)
        # Blank optional fields validate under both branches of spectacular's oneOf; anyOf says what is meant.
        converted = {("anyOf" if k == "oneOf" else k): to_json_schema(v, components)
                     for k, v in node.items() if k not in ("nullable", "readOnly", "writeOnly")}
        if node.get("nullable"):
            converted = {"anyOf": [converted, {"type": "null"}]}
        return converted
    if isinstance(node, list):
        return [to_json_schema(v, components) for v in node]
    return node


@pytest.fixture(scope="module")
def our_schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def check_against_our_schema(schema: dict, method: str, path: str, response) -> None:
    operation = schema["paths"][f"/api/{path}"][method.lower()]
    if response.status_code == 204:
        assert "content" not in operation["responses"]["204"] and not response.content, path
        return
    content = operation["responses"][str(response.status_code)]["content"]
    media = next(iter(content.values()))
    jsonschema.validate(response.json(), to_json_schema(media["schema"], schema["components"]["schemas"]))


def call_every_operation(api, locations) -> list[tuple[str, str, object]]:
    loc = locations[0]
    s = api.subdomain
    scoped = {"subdomain": s, "location_id": loc.pk}
    now = timezone.now()
    window = {"start": (now - timedelta(days=62)).isoformat(), "end": (now + timedelta(days=62)).isoformat()}
    patient = Patient.objects.filter(location=loc).first()
    provider = Provider.objects.filter(location=loc).first()
    operatory = Operatory.objects.filter(location=loc).first()
    appointment = Appointment.objects.filter(location=loc).first()
    appointment_type = AppointmentType.objects.filter(location=loc).first()
    start = (now + timedelta(days=9)).replace(microsecond=0)
    new_type = api.post("appointment_types", {"location_id": loc.pk, "appointment_type": {"name": "Whitening", "minutes": 45}},
                        {"subdomain": s}, version=None)
    endpoint = api.post("webhook_endpoints", {"target_url": "https://hooks.example.com/chairside"}, version=None)
    hook = endpoint.json()["data"]["id"]
    spare = api.post("webhook_endpoints", {"target_url": "https://hooks.example.com/spare"}, version=None).json()["data"]["id"]
    subscription = api.post(f"webhook_endpoints/{hook}/webhook_subscriptions",
                            {"resource_type": "Appointment", "event": "appointment_insertion"}, {"subdomain": s})
    subscriptions = f"webhook_endpoints/{hook}/webhook_subscriptions"
    one_subscription = f"{subscriptions}/{subscription.json()['data']['id']}"
    calls = [
        ("POST /authenticates", "authenticates", Client().post("/api/authenticates", HTTP_AUTHORIZATION=api.raw_key)),
        ("GET /institutions", "institutions", api.get("institutions", version=None)),
        ("GET /institutions/{id}", "institutions/{id}", api.get(f"institutions/{loc.institution_id}", version=None)),
        ("GET /locations", "locations", api.get("locations", {"subdomain": s}, version=None)),
        ("GET /locations/{id}", "locations/{id}", api.get(f"locations/{loc.pk}", version=None)),
        ("GET /sync_status", "sync_status", api.get("sync_status", version=None)),
        ("GET /providers", "providers", api.get("providers", scoped)),
        ("GET /providers/{id}", "providers/{id}", api.get(f"providers/{provider.pk}", {"subdomain": s})),
        ("GET /operatories", "operatories", api.get("operatories", scoped)),
        ("GET /operatories/{id}", "operatories/{id}", api.get(f"operatories/{operatory.pk}", {"subdomain": s})),
        ("GET /appointment_types", "appointment_types", api.get("appointment_types", scoped, version=None)),
        ("POST /appointment_types", "appointment_types", new_type),
        ("GET /appointment_types/{id}", "appointment_types/{id}",
         api.get(f"appointment_types/{appointment_type.pk}", {"subdomain": s}, version=None)),
        ("PATCH /appointment_types/{id}", "appointment_types/{id}",
         api.patch(f"appointment_types/{new_type.json()['data']['id']}", {"appointment_type": {"minutes": 50}}, {"subdomain": s},
                   version=None)),
        ("DELETE /appointment_types/{id}", "appointment_types/{id}",
         api.delete(f"appointment_types/{new_type.json()['data']['id']}", {"subdomain": s})),
        ("GET /patients", "patients", api.get("patients", scoped)),
        ("POST /patients", "patients", api.post("patients", {
            "provider": {"provider_id": provider.pk},
            "patient": {"first_name": "Ana", "last_name": "Diaz", "email": "ana@example.com",
                        "bio": {"date_of_birth": "1984-02-11", "phone_number": "5125550199", "gender": "Female"}}}, scoped)),
        ("GET /patients/{id}", "patients/{id}", api.get(f"patients/{patient.pk}", {"subdomain": s})),
        ("GET /appointments", "appointments", api.get("appointments", {**scoped, **window})),
        ("POST /appointments", "appointments", api.post("appointments", {"appt": {
            "patient_id": patient.pk, "provider_id": provider.pk, "operatory_id": operatory.pk,
            "start_time": start.isoformat(), "appointment_type_id": appointment_type.pk}}, scoped)),
        ("GET /appointments/{id}", "appointments/{id}", api.get(f"appointments/{appointment.pk}", {"subdomain": s}, version=None)),
        ("PATCH /appointments/{id}", "appointments/{id}",
         api.patch(f"appointments/{appointment.pk}", {"appt": {"confirmed": True}}, {"subdomain": s})),
        ("GET /working_hours", "working_hours", api.get("working_hours", scoped)),
        ("GET /available_slots", "available_slots", api.get("available_slots", {
            "subdomain": s, "start_date": (now + timedelta(days=7)).date().isoformat(), "days": 3, "lids[]": loc.pk,
            "pids[]": provider.pk})),
        ("POST /webhook_endpoints", "webhook_endpoints", endpoint),
        ("GET /webhook_endpoints", "webhook_endpoints", api.get("webhook_endpoints", version=None)),
        ("PATCH /webhook_endpoints/{id}", "webhook_endpoints/{id}",
         api.patch(f"webhook_endpoints/{hook}", {"active": True}, version=None)),
        ("POST /webhook_endpoints/{id}/webhook_subscriptions", "webhook_endpoints/{id}/webhook_subscriptions", subscription),
        ("GET /webhook_endpoints/{id}/webhook_subscriptions", "webhook_endpoints/{id}/webhook_subscriptions",
         api.get(subscriptions, {"subdomain": s})),
        ("PATCH /webhook_endpoints/{id}/webhook_subscriptions/{subscription_id}",
         "webhook_endpoints/{id}/webhook_subscriptions/{subscription_id}",
         api.patch(one_subscription, {"active": False}, {"subdomain": s})),
        ("DELETE /webhook_endpoints/{id}/webhook_subscriptions/{subscription_id}",
         "webhook_endpoints/{id}/webhook_subscriptions/{subscription_id}", api.delete(one_subscription, version="v20240412")),
        ("DELETE /webhook_endpoints/{id}", "webhook_endpoints/{id}", api.delete(f"webhook_endpoints/{spare}")),
    ]
    return calls


@pytest.fixture
def every_response(api, locations, sandbox_key):
    api.raw_key = sandbox_key.raw
    return call_every_operation(api, locations)


def test_every_operation_of_the_fixture_is_served(every_response):
    assert {operation for operation, _, _ in every_response} == set(OPERATIONS)


def test_live_responses_match_the_reference(every_response):
    for operation, _, response in every_response:
        expected = set(OPERATIONS[operation]["responses"])
        assert str(response.status_code) in expected, f"{operation}: {response.status_code} {response.content[:300]}"
        check_against_reference(operation, response)


def test_live_responses_match_our_openapi_schema(every_response, our_schema):
    for operation, path, response in every_response:
        method = operation.split()[0]
        check_against_our_schema(our_schema, method, path, response)


def required_query_parameters(operation: str) -> list[str]:
    return [p["name"] for p in OPERATIONS[operation]["parameters"] if p["required"] and p["in"] == "query"]


@pytest.mark.parametrize("operation", sorted(op for op in OPERATIONS if op.startswith("GET") and required_query_parameters(op)))
def test_required_parameters_are_enforced(api, locations, operation):
    required = required_query_parameters(operation)
    path = operation.split()[1].replace("{id}", "1").lstrip("/")
    full = {"subdomain": api.subdomain, "location_id": locations[0].pk, "start": timezone.now().isoformat(),
            "end": timezone.now().isoformat(), "start_date": timezone.now().date().isoformat(), "days": 1,
            "lids[]": locations[0].pk}
    for name in required:
        params = {k: v for k, v in full.items() if k != name}
        response = api.get(path, params)
        assert response.status_code == 400, f"{operation} without {name}: {response.status_code}"
        assert any(name.removesuffix("[]") in message for message in response.json()["error"]), response.json()


def test_our_schema_documents_every_operation(our_schema):
    for operation in OPERATIONS:
        method, path = operation.split()
        assert f"/api{path}" in our_schema["paths"], path
        assert method.lower() in our_schema["paths"][f"/api{path}"], operation
