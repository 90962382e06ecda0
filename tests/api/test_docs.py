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

    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, "the docs page loads its assets"
    assert all(a.startswith("/static/") or a.startswith("/api/") or a.startswith("data:") for a in assets), assets
    assert "cdn" not in page.lower()
    for asset in (a for a in assets if a.startswith("/static/")):
        assert Client().get(asset).status_code == 200, asset
