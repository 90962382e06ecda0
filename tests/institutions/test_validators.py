"""Create Institution's form and the CSV upload's row rules share one set of value rules, with the same words."""

import pytest

from institutions.bulk import clean_row
from institutions.forms import InstitutionForm
from institutions.models import Institution
from institutions.services import RESERVED_SUBDOMAINS, subdomains_for

FORM = {"name": "Bright Smiles Dental", "street_address": "12 Main St", "city": "Austin", "state": "TX",
        "zip_code": "78701", "tz": "America/Chicago", "phone_number": "(512) 555-0142", "email": "",
        "website": "", "contact_name": "Dana", "contact_email": "dana@brightsmiles.example"}
ROW = {"institution_name": "Bright Smiles Dental", "street_address": "12 Main St", "street_address_2": "",
       "city": "Austin", "state": "TX", "zip_code": "78701", "phone_number": "(512) 555-0142", "email": "",
       "website": "", "contact_name": "Dana", "contact_email": "dana@brightsmiles.example",
       "is_parent_organization": "no", "emr_name": "opendental"}


@pytest.mark.parametrize("field, value", [
    ("zip_code", "ABCDE"), ("zip_code", "787011"), ("phone_number", "555-0100"), ("phone_number", "(012) 555-0100"),
    ("email", "front@"), ("contact_email", "it at practice"), ("website", "not a site"), ("website", "ftp://x.example"),
])
def test_a_bad_value_gets_the_same_message_in_the_form_and_in_the_csv(field, value):
    form = InstitutionForm({**FORM, field: value})
    _, errors = clean_row({**ROW, field: value})

    assert not form.is_valid()
    assert form.errors[field] == errors[field]


@pytest.mark.parametrize("field, value, stored", [
    ("phone_number", "+1 512 555 0142", "5125550142"), ("website", "smiles.example", "https://smiles.example"),
    ("website", "http://smiles.example/", "http://smiles.example/"), ("zip_code", "78701-1234", "78701-1234"),
])
def test_a_good_value_is_stored_the_same_way_from_the_form_and_from_the_csv(field, value, stored):
    form = InstitutionForm({**FORM, field: value})
    cleaned, _ = clean_row({**ROW, field: value})

    assert form.is_valid(), form.errors
    assert form.cleaned_data[field] == cleaned.institution[field] == stored


def test_the_csv_explains_a_zip_code_that_lost_its_leading_zero():
    _, errors = clean_row({**ROW, "zip_code": "2108"})

    assert errors["zip_code"] == ["Enter a 5-digit ZIP code, like 78701. Spreadsheets drop leading zeros: format the "
                                  "column as text."]


@pytest.mark.django_db
def test_subdomains_for_a_batch_are_unique_and_skip_taken_and_reserved_ones():
    Institution.objects.create(name="Bright Smiles", subdomain="bright-smiles")

    chosen = subdomains_for(["Bright Smiles", "Lakeside Dental", "Lakeside Dental", "New", "!!!"])

    assert len(set(chosen)) == 5 and not set(chosen) & RESERVED_SUBDOMAINS
    assert chosen[0].startswith("bright-smiles-") and chosen[1] == "lakeside-dental"
    assert chosen[2].startswith("lakeside-dental-") and chosen[3].startswith("new-") and chosen[4] == "practice"
