"""The seeds' rules: 400 for a missing subdomain, 403 for an institution or location the key cannot reach,
404 for a location that is not in the institution."""

import pytest
from django.test import Client
from django.utils import timezone

from institutions.models import Location
from portal.api_keys import api_key_create
from portal.models import ApiKey
from portal.services import organization_enable_production
from syncs.sandbox import sandbox_populate
from tests.api.conftest import Api, token_for
from tests.api.test_authentication import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_sandbox(cast):
    institution = cast.other.institution_accesses.get().institution
    sandbox_populate(institution=institution)
    return institution


def test_subdomain_is_required(api, locations):
    assert_error(api.get("patients", {"location_id": locations[0].pk}), 400, "subdomain")


def test_another_organizations_institution_is_forbidden(api, other_sandbox):
    other_location = other_sandbox.locations.first()

    response = api.get("patients", {"subdomain": other_sandbox.subdomain, "location_id": other_location.pk})

    assert_error(response, 403, other_sandbox.subdomain)
    assert_error(api.get("locations", {"subdomain": other_sandbox.subdomain}), 403)
    assert_error(api.get(f"institutions/{other_sandbox.pk}"), 404)  # the reference has no 403 for it
    assert_error(api.get(f"locations/{other_location.pk}", version=None), 404)


def test_an_unknown_subdomain_is_forbidden_like_a_foreign_one(api, locations):
    assert_error(api.get("patients", {"subdomain": "no-such-practice", "location_id": locations[0].pk}), 403)


def test_a_location_outside_the_institution_is_404(api, other_sandbox):
    foreign_location = other_sandbox.locations.first()

    response = api.get("patients", {"subdomain": api.subdomain, "location_id": foreign_location.pk})

    assert_error(response, 404, f"Location {foreign_location.pk} was not found")


def test_a_deactivated_or_never_activated_location_is_forbidden(api, locations):
    Location.objects.filter(pk=locations[0].pk).update(deactivated_at=timezone.now())
    Location.objects.filter(pk=locations[1].pk).update(active=False)

    for location in locations:
        assert_error(api.get("patients", {"subdomain": api.subdomain, "location_id": location.pk}), 403, "not active")
        assert_error(api.get(f"locations/{location.pk}", version=None), 404)  # the reference has no 403 for it
    listed = api.get("locations", {"subdomain": api.subdomain}).json()["data"][0]["locations"]
    assert listed == []


def test_a_production_key_cannot_reach_the_sandbox(cast, sandbox, locations):
    organization_enable_production(organization=cast.acme, actor=None)
    production = api_key_create(actor_membership=cast.alice_membership, mode=ApiKey.Mode.PRODUCTION)
    api = Api(client=Client(), token=token_for(production.raw), subdomain=sandbox.subdomain)

    assert_error(api.get("patients", {"subdomain": sandbox.subdomain, "location_id": locations[0].pk}), 403)
    assert api.get("institutions", version=None).json()["data"] == []


def test_a_sandbox_key_cannot_reach_a_production_institution(api, sandbox, locations):
    sandbox.is_sandbox = False
    sandbox.save(update_fields=["is_sandbox"])

    assert_error(api.get("patients", {"subdomain": sandbox.subdomain, "location_id": locations[0].pk}), 403)


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5"])
def test_a_malformed_location_id_is_400(api, bad):
    assert_error(api.get("patients", {"subdomain": api.subdomain, "location_id": bad}), 400, "location_id")


def test_the_version_header_is_required_where_the_reference_requires_it(api, locations):
    params = {"subdomain": api.subdomain, "location_id": locations[0].pk}

    assert_error(api.get("patients", params, version=None), 400, "Nex-Api-Version")
    assert_error(api.get("patients", params, version="v9"), 400, "not a supported version")
    for version in ("v2", "v20240412", "v3.0.0"):
        assert api.get("patients", params, version=version).status_code == 200, version
    legacy = api.get("patients", params, version=None, HTTP_ACCEPT="application/vnd.Nexhealth+json;version=2")
    assert legacy.status_code == 200
    assert "page_info" not in legacy.json()
    assert api.get("institutions", version=None).status_code == 200


def test_a_sandbox_key_cannot_read_a_production_institutions_records_by_id_alone(api, sandbox, locations):
    """payment_plans/{id} and guarantor_balances/{id} take no subdomain: the key's mode must still bound them."""
    from syncs.models import GuarantorBalance, PaymentPlan

    plan = PaymentPlan.objects.filter(institution=sandbox).first()
    balance = GuarantorBalance.objects.filter(institution=sandbox).first()
    assert api.get(f"payment_plans/{plan.pk}", version=None).status_code == 200
    sandbox.is_sandbox = False
    sandbox.save(update_fields=["is_sandbox"])

    assert_error(api.get(f"payment_plans/{plan.pk}", version=None), 404)
    assert_error(api.get(f"guarantor_balances/{balance.pk}"), 404)


def test_a_location_outside_the_institution_is_404_or_403_where_the_reference_has_no_404(api, other_sandbox):
    from tests.contract.test_nexhealth_contract import OPERATIONS

    foreign = other_sandbox.locations.first()
    now = timezone.now()
    params = {"subdomain": api.subdomain, "location_id": foreign.pk, "start": now.isoformat(), "end": now.isoformat()}
    checked = 0
    for operation, spec in OPERATIONS.items():
        method, path = operation.split()
        if "location_id" not in {p["name"] for p in spec["parameters"]} or "{" in path or method not in ("GET", "POST"):
            continue
        if method == "GET":
            response = api.get(path.lstrip("/"), params)
        else:
            response = api.post(path.lstrip("/"), {}, params)
        expected = 404 if "404" in spec["error_statuses"] else 403
        if method == "GET" or response.status_code != 400:  # a write may refuse its empty body first
            assert response.status_code == expected, f"{operation}: {response.status_code} {response.content[:200]}"
        checked += 1
    assert checked >= 25


def test_an_unreachable_subdomain_is_a_404_where_the_reference_has_no_403(api, locations):
    from syncs.models import WorkingHour

    hour = WorkingHour.objects.filter(location=locations[0]).first()
    response = api.delete(f"working_hours/{hour.pk}", {"subdomain": "no-such-practice"}, version="v20240412")

    assert_error(response, 404, "no-such-practice")
    assert WorkingHour.objects.filter(pk=hour.pk).exists()
    assert_error(api.get(f"working_hours/{hour.pk}", {"subdomain": "no-such-practice"}), 403)
