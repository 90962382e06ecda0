"""The Synchronizer download: a zipapp of the reference agent that runs without the portal's packages, linked with
its hash and the exact command from the sync page and the IT email."""

import hashlib
import subprocess
import sys

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from syncs import services
from syncs.installer import installer, installer_build
from syncs.models import SyncStatus
from tests.factories import InstitutionFactory, SyncFactory

pytestmark = pytest.mark.django_db


def awaiting_install(cast):
    institution = InstitutionFactory(name="Download Dental", created_by=cast.acme)
    return services.sync_create(institution=institution, option_key="opendental", actor=cast.alice, organization=cast.acme)


def test_the_build_is_the_same_bytes_every_time():
    assert installer_build().sha256 == installer_build().sha256


def test_anyone_downloads_the_synchronizer_and_it_runs_on_a_bare_python(client: Client, tmp_path):
    response = client.get(reverse("synchronizer_download"))

    path = tmp_path / "chairside-synchronizer.pyz"
    path.write_bytes(response.content)
    assert response.status_code == 200
    assert installer().filename in response["Content-Disposition"]
    assert hashlib.sha256(response.content).hexdigest() == installer().sha256
    # -I -S: no site-packages, so PyMySQL and tzdata must come from the download itself.
    help_text = subprocess.run([sys.executable, "-I", "-S", str(path), "--help"], capture_output=True, text=True, timeout=60)
    bundled = subprocess.run([sys.executable, "-I", "-S", "-c",
                              f"import sys; sys.path.insert(0, {str(path)!r}); import pymysql, tzdata; "
                              "import importlib.resources as r; "
                              "print(r.files('tzdata.zoneinfo.America').joinpath('Chicago').read_bytes()[:4])"],
                             capture_output=True, text=True, timeout=60)
    assert help_text.returncode == 0 and "--product-key" in help_text.stdout
    assert bundled.returncode == 0 and "TZif" in bundled.stdout, bundled.stderr


def test_the_sync_page_links_the_download_with_its_hash_and_the_command(alice_client, cast):
    sync = awaiting_install(cast)

    page = alice_client.get(reverse("syncs:detail", args=[sync.code])).content.decode()

    assert reverse("synchronizer_download") in page
    assert installer().sha256 in page
    assert f"--product-key {services.product_key_of(sync)}" in page


def test_the_it_email_links_the_download_with_its_hash_and_the_command(cast, django_capture_on_commit_callbacks):
    sync = awaiting_install(cast)

    with django_capture_on_commit_callbacks(execute=True):
        services.sync_email_instructions(sync=sync, to="it@download.example", actor=cast.alice, organization=cast.acme)

    message = next(m for m in mail.outbox if m.to == ["it@download.example"])
    assert "/downloads/chairside-synchronizer.pyz" in message.body
    assert installer().sha256 in message.body and services.product_key_of(sync) in message.body
    assert "/downloads/chairside-synchronizer.pyz" in message.alternatives[0][0]


def test_the_extension_steps_link_the_configured_store(alice_client, cast, settings):
    settings.EXTENSION_STORE_URL = "https://store.example/chairside"
    sync = SyncFactory(institution__created_by=cast.acme, ehr="denticon", install_path="cloud",
                       status=SyncStatus.AWAITING_CREDENTIALS)

    page = alice_client.get(reverse("syncs:detail", args=[sync.code])).content.decode()

    assert 'href="https://store.example/chairside"' in page
