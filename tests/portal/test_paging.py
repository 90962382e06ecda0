"""A page whose total comes from its own query answers exactly as Django's Paginator.get_page does."""

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.models import Organization
from portal.paging import page_by_keys

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rows", [0, 1, 7, 10])
@pytest.mark.parametrize("number", [None, "1", "2", "3", "99", "-1", "x"])
def test_it_answers_as_get_page_does(rows, number):
    Organization.objects.bulk_create([Organization(name=f"Org {n:02d}") for n in range(rows)])
    queryset = Organization.objects.order_by("name")

    ours = page_by_keys(queryset, 3, number)
    django = Paginator(queryset, 3).get_page(number)

    assert [o.name for o in ours] == [o.name for o in django.object_list]
    assert (ours.number, ours.paginator.count, ours.paginator.num_pages) == (
        django.number, django.paginator.count, django.paginator.num_pages)
    assert (ours.has_next(), ours.has_previous()) == (django.has_next(), django.has_previous())


@pytest.mark.parametrize("rows", [10, 100])
def test_a_page_within_the_list_takes_two_queries_whatever_its_length(rows):
    Organization.objects.bulk_create([Organization(name=f"Org {n:03d}") for n in range(rows)])

    with CaptureQueriesContext(connection) as queries:
        page = page_by_keys(Organization.objects.order_by("name"), 3, "2")
        assert page.paginator.count == rows and [o.name for o in page] == ["Org 003", "Org 004", "Org 005"]

    assert len(queries) == 2
