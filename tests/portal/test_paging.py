"""A page whose total comes from its own query answers exactly as Django's Paginator.get_page does."""

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.models import Organization
from portal.paging import page_counted_in_one_query

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rows", [0, 1, 7, 10])
@pytest.mark.parametrize("number", [None, "1", "2", "3", "99", "-1", "x"])
def test_it_answers_as_get_page_does(rows, number):
    Organization.objects.bulk_create([Organization(name=f"Org {n:02d}") for n in range(rows)])
    queryset = Organization.objects.order_by("name")

    ours = page_counted_in_one_query(queryset, 3, number)
    django = Paginator(queryset, 3).get_page(number)

    assert [o.name for o in ours] == [o.name for o in django.object_list]
    assert (ours.number, ours.paginator.count, ours.paginator.num_pages) == (
        django.number, django.paginator.count, django.paginator.num_pages)
    assert (ours.has_next(), ours.has_previous()) == (django.has_next(), django.has_previous())


def test_a_page_within_the_list_takes_one_query():
    Organization.objects.bulk_create([Organization(name=f"Org {n:02d}") for n in range(10)])

    with CaptureQueriesContext(connection) as queries:
        page = page_counted_in_one_query(Organization.objects.order_by("name"), 3, "2")
        assert page.paginator.count == 10 and len(page.object_list) == 3

    assert len(queries) == 1
