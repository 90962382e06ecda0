"""Defence in depth in the headers: a Content Security Policy everywhere, no-store wherever a secret is shown."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from institutions.models import Institution, InstitutionAccess
from portal.services import organization_enable_production
from syncs import services
from syncs.models import Sync

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def csp_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def test_every_kind_of_page_has_a_policy_that_forbids_inline_scripts(alice_client):
    anonymous = Client()
    responses = {
        "sign-in": anonymous.get(reverse("account_login")),
        "home": alice_client.get(reverse("home")),
        "users": alice_client.get(reverse("users")),
        "api docs": anonymous.get(reverse("api-docs")),
        "api error": anonymous.get("/api/locations"),
        "not found": anonymous.get("/no-such-page/"),
        "health": anonymous.get("/healthz"),
    }
    for name, response in responses.items():
        policy = csp_of(response)
        assert policy["script-src"] == ["'self'"], name
        assert "'unsafe-inline'" not in policy.get("default-src", []), name
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"], name


def test_the_api_docs_start_from_our_static_script():
    page = Client().get(reverse("api-docs")).content.decode()

    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert '<script src="/static/portal/api_docs.js">' in page
    assert Client().get("/static/portal/api_docs.js").status_code == 200


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"""<[^>]*\s(on[a-z]+)\s*=""", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)


def test_no_template_has_an_inline_script_or_event_handler():
    offenders = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, JAVASCRIPT_URL):
            offenders += [f"{template.relative_to(ROOT)}: {match.group(0)[:60]}" for match in pattern.finditer(text)]
    assert offenders == []


def test_the_template_scan_catches_what_it_looks_for():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/x.js"></script>')
    assert INLINE_HANDLER.search('<button class="b" onclick="go()">')
    assert not INLINE_HANDLER.search('<button data-confirm="on">')
    assert JAVASCRIPT_URL.search('<a href="javascript:go()">')


# --- no-store -------------------------------------------------------------------------------------------------

def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_every_response_that_shows_a_secret_is_no_store(cast, alice_client, django_capture_on_commit_callbacks):
    organization_enable_production(organization=cast.acme, actor=None)
    alice_client.post(reverse("mode_switch"), {"test_mode": "off"})
    institution = Institution.objects.create(name="Cedar Dental", subdomain="cedar-dental")
    InstitutionAccess.objects.create(organization=cast.acme, institution=institution, via="created")
    self_installed = services.sync_create(institution=institution, option_key="opendental", actor=cast.alice,
                                            organization=cast.acme)
    cloud = services.sync_create(institution=institution, option_key="athena", actor=cast.alice,
                                   organization=cast.acme)
    product_key = services.product_key_of(self_installed)
    extension_token = services.extension_token_of(cloud)
    product_key_page = alice_client.get(reverse("syncs:detail", args=[self_installed.code]))
    extension_token_page = alice_client.get(reverse("syncs:detail", args=[cloud.code]))

    new_key = alice_client.post(reverse("api_keys"), {"mode": "sandbox"})
    rotated = alice_client.post(reverse("api_keys"), {"mode": "sandbox", "action": "rotate", "grace": "now",
                                                      "confirm": "now"})
    assert new_key.context["issued"] and rotated.context["issued"]
    raw_key = rotated.context["issued"].raw
    api = Client()
    token_response = api.post("/api/authenticates", HTTP_AUTHORIZATION=raw_key)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token_response.json()['data']['token']}"}
    created = api.post("/api/webhook_endpoints", {"target_url": "https://hooks.example.com/x"},
                       content_type="application/json", **bearer)
    endpoint_id = created.json()["data"]["id"]
    activation = Client().post("/synchronizer/v1/activate", {"product_key": product_key},
                               content_type="application/json")

    shown = {
        "sync page (product key)": (product_key_page, product_key),
        "sync page (extension token)": (extension_token_page, extension_token),
        "API key created": (new_key, new_key.context["issued"].raw),
        "API key rotated": (rotated, raw_key),
        "POST /api/authenticates": (token_response, token_response.json()["data"]["token"]),
        "webhook endpoint created": (created, created.json()["data"]["secret_key"]),
        "webhook endpoint read": (api.get(f"/api/webhook_endpoints/{endpoint_id}", **bearer),
                                  created.json()["data"]["secret_key"]),
        "webhook endpoints listed": (api.get("/api/webhook_endpoints", **bearer), created.json()["data"]["secret_key"]),
        "webhook endpoint updated": (api.patch(f"/api/webhook_endpoints/{endpoint_id}", {"active": True},
                                               content_type="application/json", **bearer),
                                     created.json()["data"]["secret_key"]),
        "synchronizer activation (agent token)": (activation, activation.json()["data"]["agent_token"]),
    }
    for name, (response, secret) in shown.items():
        assert response.status_code in (200, 201), name
        assert secret and secret in response.content.decode(), f"{name} does not show the secret it is listed for"
        assert no_store(response), name
    assert Sync.objects.filter(pk=self_installed.pk, agent_token_hash__isnull=False).exists()
