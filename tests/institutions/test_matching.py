import pytest

from institutions import matching
from institutions.matching import (
    email_domain, find_matches, find_matches_many, normalize_name, normalize_street, website_domain,
)
from institutions.models import Institution, InstitutionAccess
from syncs.models import SyncStatus
from tests.factories import InstitutionFactory, SyncFactory

pytestmark = pytest.mark.django_db

LIVE = {
    "name": "Bright Smiles Dental, P.C.", "street_address": "12 Main Street", "city": "Austin", "state": "TX",
    "zip_code": "78701", "phone_number": "5125550100", "email": "front@brightsmiles.com",
    "website": "https://www.brightsmiles.com/contact",
}
NOTHING_ALIKE = {"name": "Lakeside Family Care", "street_address": "400 Shore Dr", "zip_code": "53703",
                 "phone_number": "(608) 555-0142", "email": "hello@lakeside.example", "website": "lakeside.example"}


def live_institution(organization, subdomain="bright-smiles", status=SyncStatus.ACTIVE, **fields) -> Institution:
    """A practice another organization onboarded, its sync in `status`."""
    institution = InstitutionFactory(subdomain=subdomain, created_by=organization, **{**LIVE, **fields})
    SyncFactory(institution=institution, status=status)
    return institution


def matches(cast, **candidate):
    return find_matches(organization=cast.acme, **{**NOTHING_ALIKE, **candidate})


def reasons(found) -> list[list[str]]:
    return [list(match.reasons) for match in found]


def test_same_name_and_zip_code_match_whatever_the_legal_suffixes(cast):
    institution = live_institution(cast.other)

    found = matches(cast, name="The Bright Smiles DDS LLC", zip_code="78701-1234")

    assert [m.institution for m in found] == [institution]
    assert reasons(found) == [["Same name and ZIP code"]]
    assert found[0].reason == "Same name and ZIP code" and found[0].access_pending is False


def test_same_name_and_street_match_when_the_zip_code_differs(cast):
    live_institution(cast.other)

    assert reasons(matches(cast, name="Bright Smiles", street_address="12 Main St.", zip_code="78702")) == [
        ["Same name and street address"]]


def test_same_phone_number_matches_in_any_format(cast):
    live_institution(cast.other)

    assert reasons(matches(cast, phone_number="+1 (512) 555-0100")) == [["Same phone number (512) 555-0100"]]


def test_same_website_or_email_domain_matches(cast):
    live_institution(cast.other)

    assert reasons(matches(cast, website="http://brightsmiles.com")) == [["Same website domain brightsmiles.com"]]
    assert reasons(matches(cast, email="office@BrightSmiles.com")) == [["Same email domain brightsmiles.com"]]


def test_every_reason_is_listed_and_the_strongest_match_comes_first(cast):
    weak = live_institution(cast.other, subdomain="weak", name="Elsewhere", street_address="1 Other Rd",
                            zip_code="10001", phone_number="2125550199", email="x@brightsmiles.com", website="")
    strong = live_institution(cast.other)

    found = find_matches(organization=cast.acme, name="Bright Smiles", street_address="12 Main St", zip_code="78701",
                         phone_number="512-555-0100", email="front@brightsmiles.com", website="brightsmiles.com")

    assert [m.institution for m in found] == [strong, weak]
    assert reasons(found)[0] == ["Same name and ZIP code", "Same phone number (512) 555-0100",
                                 "Same website domain brightsmiles.com"]
    assert reasons(found)[1] == ["Same website domain brightsmiles.com"]


@pytest.mark.parametrize("candidate", [
    {"name": "Bright Smiles", "zip_code": "10001"},  # same name elsewhere
    {"name": "Brighter Smiles", "zip_code": "78701", "street_address": "12 Main Street"},  # another name, same place
    {"email": "brightsmiles@gmail.com"},  # free mail says nothing
    {"website": "https://facebook.com/brightsmiles"},  # nor a shared site host
    {"phone_number": "not a phone"},
])
def test_near_misses_do_not_match(cast, candidate):
    live_institution(cast.other, email="brightsmiles@gmail.com", website="https://facebook.com/brightsmiles")

    assert matches(cast, **candidate) == []


@pytest.mark.parametrize("status", [SyncStatus.AWAITING_INSTALL, SyncStatus.FAILED, SyncStatus.DEACTIVATED])
def test_only_practices_live_with_the_synchronizer_match(cast, status):
    live_institution(cast.other, status=status)

    assert matches(cast, phone_number="5125550100") == []


def test_sandbox_institutions_never_match(cast):
    live_institution(cast.other, is_sandbox=True)

    assert matches(cast, phone_number="5125550100") == []


def test_a_practice_the_organization_already_reaches_is_not_a_match(cast):
    institution = live_institution(cast.other)
    access = InstitutionAccess.objects.create(organization=cast.acme, institution=institution, via="consent")

    assert matches(cast, phone_number="5125550100") == []
    access.status = InstitutionAccess.Status.PENDING
    access.save()
    found = matches(cast, phone_number="5125550100")
    assert len(found) == 1 and found[0].access_pending is True  # shown, so the owner can say "access requested"


def test_one_query_per_call_and_per_chunk_of_candidates(cast, django_assert_num_queries, monkeypatch):
    live_institution(cast.other)
    live_institution(cast.other, subdomain="other-practice", name="Other Practice", phone_number="2125550199",
                     email="", website="", zip_code="10001", street_address="1 Broadway")

    with django_assert_num_queries(1):
        matches(cast, name="Bright Smiles", zip_code="78701")
    candidates = [{**NOTHING_ALIKE, "phone_number": f"212555{n:04d}"} for n in range(100, 240)] + [
        {**NOTHING_ALIKE, "name": "Bright Smiles", "zip_code": "78701"}]
    with django_assert_num_queries(1):
        found = find_matches_many(organization=cast.acme, candidates=candidates)
    assert [len(f) for f in found].count(1) == 2  # 2125550199 and Bright Smiles
    assert reasons(found[-1]) == [["Same name and ZIP code"]]
    assert reasons(found[99]) == [["Same phone number (212) 555-0199"]]
    with django_assert_num_queries(3):  # 300 candidates, 100 a query
        monkeypatch.setattr(matching, "CHUNK", 100)
        find_matches_many(organization=cast.acme, candidates=candidates * 2 + candidates[:18])


def test_normalizers():
    assert normalize_name("The Bright Smiles Dental, P.C.") == "bright smiles"
    assert normalize_name("O'Neil & Sons DDS, PLLC") == normalize_name("ONeil and Sons Dentistry")
    assert normalize_street("12 Main Street, Suite 4") == normalize_street("12 main st ste. 4") == "12 main st ste 4"
    assert website_domain("HTTPS://WWW.BrightSmiles.com:443/x?y") == "brightsmiles.com"
    assert website_domain("brightsmiles.com") == "brightsmiles.com"
    assert website_domain("https://www.facebook.com/bright") == "" and website_domain("not a site") == ""
    assert email_domain("front@gmail.com") == "" and email_domain("front@Bright.com") == "bright.com"
