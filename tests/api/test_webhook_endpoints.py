"""/api/webhook_endpoints and their subscriptions: CRUD, scoping to the key's organization and mode, validation."""

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from institutions.models import Institution
from portal.api_keys import api_key_create
from portal.models import ApiKey, AuditEvent
from syncs.models import WebhookEndpoint, WebhookSubscription
from portal.services import organization_enable_production
from portal.crypto import decrypt
from tests.api.conftest import Api, token_for

pytestmark = pytest.mark.django_db
HOOK = "https://hooks.example.com/chairside"
ENDPOINT_FIELDS = {"id", "target_url", "secret_key", "active", "created_at", "updated_at"}
SUBSCRIPTION_FIELDS = {"id", "webhook_endpoint_id", "institution_id", "resource_type", "event", "active", "created_at",
                       "updated_at"}


def api_for(membership, mode=ApiKey.Mode.SANDBOX) -> Api:
    sandbox = Institution.objects.get(accesses__organization=membership.organization, is_sandbox=True)
    key = api_key_create(actor_membership=membership, mode=mode)
    return Api(client=Client(), token=token_for(key.raw), subdomain=sandbox.subdomain)


@pytest.fixture
def acme(cast) -> Api:
    return api_for(cast.alice_membership)


@pytest.fixture
def other(cast) -> Api:
    return api_for(cast.olivia_membership)


def create(api: Api, url: str = HOOK, **extra) -> dict:
    response = api.post("webhook_endpoints", {"target_url": url, **extra}, version=None)
    assert response.status_code == 201, response.content
    return response.json()["data"]


def subscribe(api: Api, endpoint_id: int, resource_type="Appointment", event="appointment_insertion", **params):
    return api.post(f"webhook_endpoints/{endpoint_id}/webhook_subscriptions",
                    {"resource_type": resource_type, "event": event}, {"subdomain": api.subdomain, **params})


# --- Endpoints ---------------------------------------------------------------------------------------------

def test_an_endpoint_is_created_with_a_secret_shown_as_the_reference_does(acme, cast):
    response = acme.post("webhook_endpoints", {"target_url": HOOK}, version=None)

    assert response.status_code == 201
    body = response.json()
    assert body["code"] is True and body["count"] == 1
    data = body["data"]
    assert set(data) == ENDPOINT_FIELDS
    assert data["target_url"] == HOOK and data["active"] is True
    assert len(data["secret_key"]) == 32
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    assert endpoint.organization == cast.acme and endpoint.mode == ApiKey.Mode.SANDBOX
    assert data["secret_key"] not in endpoint.secret_key_encrypted
    assert decrypt(endpoint.secret_key_encrypted) == data["secret_key"]


def test_endpoints_are_listed_filtered_read_edited_and_deleted(acme):
    first = create(acme)
    second = create(acme, "https://hooks.example.com/two", active=False)

    listed = acme.get("webhook_endpoints", version=None).json()
    assert [e["id"] for e in listed["data"]] == [first["id"], second["id"]] and listed["count"] == 2
    assert listed["data"][0]["secret_key"] == first["secret_key"]
    assert [e["id"] for e in acme.get("webhook_endpoints", {"active": "false"}, version=None).json()["data"]] == [second["id"]]
    assert acme.get(f"webhook_endpoints/{first['id']}", version=None).json()["data"] == first

    patched = acme.patch(f"webhook_endpoints/{first['id']}", {"target_url": "https://hooks.example.com/new", "active": False},
                         version=None)
    assert patched.status_code == 200
    assert patched.json()["data"]["target_url"] == "https://hooks.example.com/new"
    assert patched.json()["data"]["active"] is False
    assert patched.json()["data"]["secret_key"] == first["secret_key"]

    deleted = acme.delete(f"webhook_endpoints/{first['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert acme.get(f"webhook_endpoints/{first['id']}", version=None).status_code == 404


def test_reactivating_an_endpoint_clears_why_it_stopped(acme):
    endpoint = WebhookEndpoint.objects.get(pk=create(acme)["id"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False, failing_since=endpoint.created_at,
                                                          deactivated_reason="Deactivated after 48 hours")

    response = acme.patch(f"webhook_endpoints/{endpoint.pk}", {"active": True}, version=None)

    assert response.json()["data"]["active"] is True
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.deactivated_reason == ""


@pytest.mark.parametrize("url, message", [
    ("not a url", "Enter a valid URL."),
    ("http://hooks.example.com/plain", "Use an https:// URL"),
    ("ftp://hooks.example.com/file", "Enter a valid URL."),
    ("https://user:pass@hooks.example.com/", "must not contain credentials"),
    ("", "may not be blank"),
])
def test_a_bad_target_url_is_a_400_with_the_field(acme, url, message):
    response = acme.post("webhook_endpoints", {"target_url": url}, version=None)

    assert response.status_code == 400
    assert any(e.startswith("target_url: ") and message in e for e in response.json()["error"]), response.json()
    assert not WebhookEndpoint.objects.exists()


def test_target_url_is_required_and_plain_http_is_allowed_for_localhost_in_development(acme):
    assert acme.post("webhook_endpoints", {}, version=None).json()["error"] == ["target_url: This field is required."]
    assert create(acme, "http://localhost:8085/hook")["target_url"] == "http://localhost:8085/hook"


def test_production_requires_https_to_a_public_address(acme, settings):
    settings.PRODUCTION = True
    settings.CREDENTIALS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    for url in ("http://localhost:8085/hook", "https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://[::1]/hook"):
        response = acme.post("webhook_endpoints", {"target_url": url}, version=None)
        assert response.status_code == 400, url
    assert create(acme, "https://hooks.example.com/live")["target_url"] == "https://hooks.example.com/live"


def test_another_organizations_endpoint_is_not_found(acme, other):
    theirs = create(other)["id"]

    assert acme.get("webhook_endpoints", version=None).json()["data"] == []
    assert acme.get(f"webhook_endpoints/{theirs}", version=None).status_code == 404
    assert acme.patch(f"webhook_endpoints/{theirs}", {"active": False}, version=None).status_code == 404
    assert acme.delete(f"webhook_endpoints/{theirs}").status_code == 404
    assert acme.get(f"webhook_endpoints/{theirs}/webhook_subscriptions").status_code == 404
    assert subscribe(acme, theirs).status_code == 404
    assert WebhookEndpoint.objects.get(pk=theirs).active


def test_the_other_modes_endpoint_is_not_found(acme, cast):
    organization_enable_production(organization=cast.acme, actor=None)
    production = api_for(cast.alice_membership, mode=ApiKey.Mode.PRODUCTION)
    live = create(production, "https://hooks.example.com/live")["id"]
    test = create(acme)["id"]

    assert WebhookEndpoint.objects.get(pk=live).mode == ApiKey.Mode.PRODUCTION
    assert [e["id"] for e in acme.get("webhook_endpoints", version=None).json()["data"]] == [test]
    assert [e["id"] for e in production.get("webhook_endpoints", version=None).json()["data"]] == [live]
    assert acme.patch(f"webhook_endpoints/{live}", {"active": False}, version=None).status_code == 404
    assert production.delete(f"webhook_endpoints/{test}").status_code == 404


def test_webhook_endpoints_need_a_bearer_token(acme):
    response = Client().get("/api/webhook_endpoints")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


# --- Subscriptions -----------------------------------------------------------------------------------------

def test_a_subscription_is_created_listed_edited_and_deleted(acme):
    endpoint = create(acme)["id"]

    created = subscribe(acme, endpoint, resource_type="appointment")  # the reference's guide writes it in lower case

    assert created.status_code == 201, created.content
    data = created.json()["data"]
    assert set(data) == SUBSCRIPTION_FIELDS
    institution = Institution.objects.get(subdomain=acme.subdomain)
    assert data["webhook_endpoint_id"] == endpoint and data["institution_id"] == institution.pk
    assert (data["resource_type"], data["event"], data["active"]) == ("Appointment", "appointment_insertion", True)
    sync = subscribe(acme, endpoint, "SyncStatus", "sync_status_read_change").json()["data"]

    path = f"webhook_endpoints/{endpoint}/webhook_subscriptions"
    assert [s["id"] for s in acme.get(path).json()["data"]] == [data["id"], sync["id"]]
    assert [s["id"] for s in acme.get(path, {"resource_type": "SyncStatus"}).json()["data"]] == [sync["id"]]
    assert [s["id"] for s in acme.get(path, {"event": "appointment_insertion", "subdomain": acme.subdomain}).json()["data"]] \
        == [data["id"]]

    patched = acme.patch(f"{path}/{data['id']}", {"active": False}, {"subdomain": acme.subdomain})
    assert patched.status_code == 200 and patched.json()["data"]["active"] is False

    deleted = acme.delete(f"{path}/{data['id']}", version="v20240412")
    assert deleted.status_code == 204 and deleted.content == b""
    assert acme.patch(f"{path}/{data['id']}", {"active": True}, {"subdomain": acme.subdomain}).status_code == 404


def test_subscription_operations_require_the_version_header_as_the_reference_does(acme):
    endpoint = create(acme)["id"]

    response = acme.get(f"webhook_endpoints/{endpoint}/webhook_subscriptions", version=None)

    assert response.status_code == 400
    assert any(e.startswith("Nex-Api-Version") for e in response.json()["error"])
    assert acme.get("webhook_endpoints", version=None).status_code == 200  # endpoints do not require it


@pytest.mark.parametrize("resource_type, event, message", [
    ("Appointment", "appointment_teleported", "event: \"appointment_teleported\" is not a valid choice."),
    ("Spaceship", "appointment_insertion", "resource_type: \"Spaceship\" is not a valid choice."),
    ("Patient", "patient_created", "event: Chairside does not send 'patient_created' webhooks yet."),
    ("SyncStatus", "appointment_insertion", "event: 'appointment_insertion' is an event of the resource type Appointment"),
])
def test_a_bad_subscription_is_a_400_with_the_field(acme, resource_type, event, message):
    response = subscribe(acme, create(acme)["id"], resource_type, event)

    assert response.status_code == 400
    assert any(e.startswith(message) for e in response.json()["error"]), response.json()


def test_a_subscription_needs_a_reachable_subdomain_and_is_made_once(acme, other):
    endpoint = create(acme)["id"]
    path = f"webhook_endpoints/{endpoint}/webhook_subscriptions"

    missing = acme.post(path, {"resource_type": "Appointment", "event": "appointment_insertion"})
    assert missing.status_code == 400 and missing.json()["error"] == ["subdomain: This field is required."]
    assert subscribe(acme, endpoint, subdomain=other.subdomain).status_code == 403
    assert subscribe(acme, endpoint).status_code == 201
    duplicate = subscribe(acme, endpoint)
    assert duplicate.status_code == 400 and duplicate.json()["error"][0].startswith("event: ")
    assert WebhookSubscription.objects.count() == 1


def test_a_subscription_moves_to_another_of_your_endpoints_only(acme, other):
    first, second, theirs = create(acme)["id"], create(acme)["id"], create(other)["id"]
    subscription = subscribe(acme, first).json()["data"]["id"]
    params = {"subdomain": acme.subdomain}

    assert acme.patch(f"webhook_endpoints/{first}/webhook_subscriptions/{subscription}", {"new_endpoint_id": theirs},
                      params).status_code == 404
    moved = acme.patch(f"webhook_endpoints/{first}/webhook_subscriptions/{subscription}", {"new_endpoint_id": second}, params)

    assert moved.status_code == 200 and moved.json()["data"]["webhook_endpoint_id"] == second
    assert acme.patch(f"webhook_endpoints/{first}/webhook_subscriptions/{subscription}", {"active": True},
                      params).status_code == 404
    assert acme.delete(f"webhook_endpoints/{second}/webhook_subscriptions/{subscription}",
                       version="v20240412").status_code == 204
    assert not WebhookSubscription.objects.exists()


def test_subscribing_and_unsubscribing_are_audited(acme, cast):
    endpoint = create(acme)["id"]
    subscription = subscribe(acme, endpoint).json()["data"]["id"]
    acme.delete(f"webhook_endpoints/{endpoint}/webhook_subscriptions/{subscription}", version="v20240412")

    created, deleted = (AuditEvent.objects.get(verb=f"webhook_subscription.{verb}") for verb in ("created", "deleted"))
    assert created.organization == deleted.organization == cast.acme
    assert created.target_label == deleted.target_label == f"appointment_insertion for {acme.subdomain}"
    assert created.details["endpoint_id"] == deleted.details["endpoint_id"] == endpoint


def test_reactivating_a_subscription_reactivates_the_endpoint_we_stopped(acme):
    endpoint = create(acme)["id"]
    subscription = subscribe(acme, endpoint).json()["data"]["id"]
    WebhookEndpoint.objects.filter(pk=endpoint).update(active=False, deactivated_reason="Deactivated after 48 hours")

    acme.patch(f"webhook_endpoints/{endpoint}/webhook_subscriptions/{subscription}", {"active": True},
               {"subdomain": acme.subdomain})

    assert WebhookEndpoint.objects.get(pk=endpoint).active
    WebhookEndpoint.objects.filter(pk=endpoint).update(active=False, deactivated_reason="")  # switched off by its owner
    acme.patch(f"webhook_endpoints/{endpoint}/webhook_subscriptions/{subscription}", {"active": True},
               {"subdomain": acme.subdomain})
    assert not WebhookEndpoint.objects.get(pk=endpoint).active


def test_another_organizations_subscription_is_not_found(acme, other):
    theirs = create(other)["id"]
    subscription = subscribe(other, theirs).json()["data"]["id"]
    mine = create(acme)["id"]

    for endpoint in (theirs, mine):
        path = f"webhook_endpoints/{endpoint}/webhook_subscriptions/{subscription}"
        assert acme.patch(path, {"active": False}, {"subdomain": acme.subdomain}).status_code == 404
        assert acme.delete(path, version="v20240412").status_code == 404
    assert WebhookSubscription.objects.get(pk=subscription).active
