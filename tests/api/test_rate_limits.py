import pytest

from tests.api.test_authentication import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limits(settings, rate_window_frozen):
    settings.API_RATE_LIMITS = {"records": 3, "default": 5}


def test_a_key_over_its_budget_gets_429_in_the_envelope(api, locations, small_limits):
    params = {"subdomain": api.subdomain, "location_id": locations[0].pk}
    statuses = [api.get("patients", params).status_code for _ in range(3)]

    limited = api.get("patients", params)

    assert statuses == [200, 200, 200]
    body = assert_error(limited, 429)
    assert 0 < int(limited["Retry-After"]) <= 61
    assert body["description"] == "Too many requests"


def test_patients_and_appointments_have_their_own_budget(api, locations, small_limits):
    params = {"subdomain": api.subdomain, "location_id": locations[0].pk}
    for _ in range(3):
        api.get("patients", params)

    assert api.get("patients", params).status_code == 429
    assert api.get("operatories", params).status_code == 200
    assert api.get("appointments/1", {"subdomain": api.subdomain}, version=None).status_code == 429


def test_each_key_counts_separately(api, locations, small_limits, cast, sandbox):
    from django.test import Client

    from portal.api_keys import api_key_create
    from portal.services import organization_create
    from syncs.sandbox import sandbox_populate
    from tests.api.conftest import Api, token_for
    from tests.factories import UserFactory

    params = {"subdomain": api.subdomain, "location_id": locations[0].pk}
    for _ in range(4):
        api.get("patients", params)
    founder = UserFactory(email="founder@third.example")
    third = organization_create(name="Third", admin=founder)
    third_sandbox = third.institution_accesses.get().institution
    sandbox_populate(institution=third_sandbox)
    other = Api(Client(), token_for(api_key_create(actor_membership=founder.memberships.get(), mode="sandbox").raw),
                third_sandbox.subdomain)

    response = other.get("patients", {"subdomain": other.subdomain, "location_id": third_sandbox.locations.first().pk})

    assert response.status_code == 200
