"""API test cast: Acme's sandbox filled with sample data, its sandbox key, and a client that speaks the API."""

import json
from dataclasses import dataclass

import pytest
from django.test import Client

from institutions.models import Institution, Location
from portal.api_keys import IssuedKey, api_key_create
from portal.models import ApiKey
from syncs.sandbox import sandbox_populate

V3 = {"HTTP_NEX_API_VERSION": "v20240412"}


@dataclass
class Api:
    client: Client
    token: str
    subdomain: str

    def headers(self, version: str | None = "v20240412", **extra) -> dict:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token}", **extra}
        if version:
            headers["HTTP_NEX_API_VERSION"] = version
        return headers

    def get(self, path: str, params: dict | None = None, version: str | None = "v20240412", **extra):
        return self.client.get(f"/api/{path}", params or {}, **self.headers(version, **extra))

    def post(self, path: str, body: dict, params: dict | None = None, version: str | None = "v20240412"):
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        return self.client.post(f"/api/{path}?{query}", json.dumps(body), content_type="application/json",
                                **self.headers(version))

    def patch(self, path: str, body: dict, params: dict | None = None, version: str | None = "v20240412"):
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        return self.client.patch(f"/api/{path}?{query}", json.dumps(body), content_type="application/json",
                                 **self.headers(version))

    def delete(self, path: str, params: dict | None = None, version: str | None = None):
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        return self.client.delete(f"/api/{path}?{query}", **self.headers(version))


def token_for(raw_key: str) -> str:
    response = Client().post("/api/authenticates", HTTP_AUTHORIZATION=raw_key)
    assert response.status_code == 201, response.content
    return response.json()["data"]["token"]


@pytest.fixture
def sandbox(cast) -> Institution:
    institution = Institution.objects.get(accesses__organization=cast.acme, is_sandbox=True)
    sandbox_populate(institution=institution)
    return institution


@pytest.fixture
def locations(sandbox) -> list[Location]:
    return list(sandbox.locations.order_by("id"))


@pytest.fixture
def sandbox_key(cast) -> IssuedKey:
    return api_key_create(actor_membership=cast.alice_membership, mode=ApiKey.Mode.SANDBOX)


@pytest.fixture
def api(sandbox, sandbox_key) -> Api:
    return Api(client=Client(), token=token_for(sandbox_key.raw), subdomain=sandbox.subdomain)


def body_of(response) -> dict:
    return json.loads(response.content)
