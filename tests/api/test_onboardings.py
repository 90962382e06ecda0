"""/onboardings: an institution plus its sync by emr_name, its state, and the practice's single-use setup link."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from institutions.models import Institution
from portal.api_keys import api_key_create
from portal.services import organization_enable_production
from syncs.models import EngineerSlot, Onboarding, Sync, SyncStatus
from tests.api.conftest import Api, token_for

pytestmark = pytest.mark.django_db


def onboard(api, **fields):
    body = {"emr_name": "opendental", "institution_name": "Harbor Dental", "institution_email": "office@example.com",
            "institution_zip_code": "78701", **fields}
    return api.post("onboardings", {"onboarding": body})


@pytest.fixture
def live(cast) -> Api:
    organization_enable_production(organization=cast.acme, actor=None)
    key = api_key_create(actor_membership=cast.alice_membership, mode="production")
    return Api(client=Client(), token=token_for(key.raw), subdomain="")


def setup_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_a_production_onboarding_creates_the_institution_and_its_sync_on_the_board(live, cast):
    response = onboard(live, subdomain="harbor-dental")
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert (data["status"], data["subdomain"], data["booking_params"]) == ("in_progress", "harbor-dental", None)
    assert data["url"].startswith("http") and data["url_expires_at"]
    institution = Institution.objects.get(subdomain="harbor-dental")
    assert not institution.is_sandbox and institution.contact_email == "office@example.com"
    assert Institution.objects.reachable_by(cast.acme).filter(pk=institution.pk).exists()  # the board's rows
    sync = Sync.objects.get(institution=institution)
    assert (sync.ehr, sync.status) == ("opendental", SyncStatus.AWAITING_INSTALL)
    assert live.get(f"onboardings/{data['id']}").json()["data"]["id"] == data["id"]


def test_onboardings_are_listed_filtered_and_only_to_their_organization(live, api, cast):
    onboard(live, institution_name="One Dental")
    onboard(live, institution_name="Two Dental", emr_name="denticon")
    Sync.objects.filter(institution__name="Two Dental").update(status=SyncStatus.ACTIVE)
    listed = live.get("onboardings").json()
    assert [o["subdomain"] for o in listed["data"]] == ["two-dental", "one-dental"]  # newest first by default
    assert [o["status"] for o in live.get("onboardings", {"status": "complete"}).json()["data"]] == ["complete"]
    assert [o["subdomain"] for o in live.get("onboardings", {"sort": "subdomain"}).json()["data"]] == ["one-dental", "two-dental"]
    assert api.get("onboardings").json()["data"] == []  # the sandbox key sees the sandbox's onboardings only
    olivia = api_key_create(actor_membership=cast.olivia_membership, mode="sandbox")
    other = Api(client=Client(), token=token_for(olivia.raw), subdomain="")
    hashid = listed["data"][0]["id"]
    assert other.get(f"onboardings/{hashid}").status_code == 404


def test_an_emr_chairside_cannot_sync_and_a_taken_subdomain_are_400s(live):
    assert onboard(live, emr_name="nextgen").status_code == 400
    assert onboard(live, emr_name="dolphin").status_code == 400  # not in the reference's list
    onboard(live, subdomain="taken-dental")
    assert onboard(live, institution_name="Else", subdomain="taken-dental").status_code == 400


def test_a_production_onboarding_needs_production_enabled(live, cast):
    type(cast.acme).objects.filter(pk=cast.acme.pk).update(production_enabled_at=None)
    response = onboard(live)
    assert response.status_code == 403 and not Institution.objects.filter(is_sandbox=False).exists()


def test_the_link_shows_a_self_installer_its_product_key(live):
    url = onboard(live).json()["data"]["url"]
    page = Client().get(setup_path(url))
    sync = Sync.objects.get()
    from syncs.services import product_key_of

    assert page.status_code == 200 and product_key_of(sync) in page.content.decode()
    assert "Select" not in page.content.decode()  # nothing an operator's admin reserves


def test_the_link_takes_cloud_credentials_once(live):
    url = setup_path(onboard(live, emr_name="denticon").json()["data"]["url"])
    bad = Client().post(url, {"username": ""})
    assert bad.status_code == 400
    done = Client().post(url, {"username": "chairside", "password": "a-long-secret"})
    assert done.status_code == 200
    assert Sync.objects.get().status == SyncStatus.CREDENTIALS_SUBMITTED
    assert Client().post(url, {"username": "x", "password": "y"}).status_code == 410  # spent


def test_the_link_books_the_engineers_installation(live):
    url = setup_path(onboard(live, emr_name="dentrix").json()["data"]["url"])
    Sync.objects.update(install_path="scheduled", status=SyncStatus.AWAITING_SCHEDULE)
    slot = EngineerSlot.objects.create(engineer="Sam", starts_at=timezone.now() + timedelta(days=3),
                                       ends_at=timezone.now() + timedelta(days=3, hours=1))
    assert Client().get(url).status_code == 200
    assert Client().post(url, {"slot": slot.pk}).status_code == 200
    assert Sync.objects.get().status == SyncStatus.INSTALL_SCHEDULED


def test_an_expired_or_forged_link_is_refused(live):
    url = setup_path(onboard(live).json()["data"]["url"])
    assert Client().get(url[:-3] + "abc/").status_code == 410
    Onboarding.objects.update(link_expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(url).status_code == 410
