"""Pages of long lists for the portal's screens, with as few passes over the rows as the total allows."""

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from portal.api.pagination import rows_with_total


class CountedPaginator(Paginator):
    """A Paginator told its count (by a query that already knows it), so no second COUNT(*) runs."""

    def __init__(self, object_list, per_page, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property: this is its cached value


def page_counted_in_one_query(queryset: QuerySet, per_page: int, number) -> Page:
    """Paginator(...).get_page(number), with the total read from the page query itself (rows_with_total): a list
    sorted by an expression is then scanned once, not once to count and again to sort. A page past the end (or below
    1) is Django's answer, the last page, read again."""
    try:
        number = int(number)
    except (TypeError, ValueError):
        number = 1
    if number >= 1:
        start = (number - 1) * per_page
        rows, total = rows_with_total(queryset, start, start + per_page)
        if rows:
            return Page(rows, number, CountedPaginator(queryset, per_page, count=total))
    else:
        total = queryset.count()
    return CountedPaginator(queryset, per_page, count=total).get_page(number)
