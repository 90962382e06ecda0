"""One practice per organization: one normalization (name words + first five ZIP characters) and a constraint."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction

from institutions import services
from institutions.models import Institution, InstitutionAccess
from institutions.services import identity_key
from portal.services import organization_enable_production
from tests.conftest import require_service

DATA = {"name": "Bright Smiles Dental", "street_address": "1 Main St", "city": "Austin", "state": "TX",
        "zip_code": "78701", "phone_number": "5125550100"}


def test_the_form_and_the_csv_share_one_normalization():
    assert identity_key("Bright  Smiles Dental!", "78701-1234") == identity_key("bright smiles dental", "78701")
    assert identity_key("Bright Smiles Dental", "78701") != identity_key("Bright Smiles Dental", "78702")


@pytest.mark.django_db
def test_the_database_refuses_a_second_relationship_with_the_same_identity(cast):
    first, second = (Institution.objects.create(name="Bright Smiles", subdomain=s) for s in ("a-1", "a-2"))
    InstitutionAccess.objects.create(organization=cast.acme, institution=first, via="created",
                                     identity=identity_key("Bright Smiles", "78701"))

    with pytest.raises(IntegrityError), transaction.atomic():
        InstitutionAccess.objects.create(organization=cast.acme, institution=second, via="created",
                                         identity=identity_key("Bright Smiles", "78701"))
    # Another organization may onboard the same practice: identities are per organization.
    InstitutionAccess.objects.create(organization=cast.other, institution=second, via="created",
                                     identity=identity_key("Bright Smiles", "78701"))


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_requests_at_the_same_moment_create_the_practice_once(cast, monkeypatch):
    require_service("PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL")
    organization_enable_production(organization=cast.acme, actor=None)
    barrier = threading.Barrier(2, timeout=10)
    subdomain_for = services.subdomain_for

    def after_the_check(name: str) -> str:
        barrier.wait()  # both requests have passed the pre-check; the constraint decides
        return subdomain_for(name)

    monkeypatch.setattr(services, "subdomain_for", after_the_check)
    outcomes = []

    def attempt() -> None:
        try:
            services.institution_create(organization=cast.acme, actor=cast.alice, data=dict(DATA))
            outcomes.append("created")
        except ValidationError as error:
            outcomes.append(" ".join(error.messages))
        except Exception as error:  # surfaced by the assertion below
            outcomes.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["You already have an institution called Bright Smiles Dental at ZIP 78701.", "created"]
    assert Institution.objects.filter(name="Bright Smiles Dental").count() == 1
