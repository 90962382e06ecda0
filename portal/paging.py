"""Pages of long lists for the portal's screens, with as few passes over the rows as the total allows."""

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window


class CountedPaginator(Paginator):
    """A Paginator told its count (by a query that already knows it), so no second COUNT(*) runs."""

    def __init__(self, object_list, per_page, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property: this is its cached value


def page_by_keys(queryset: QuerySet, per_page: int, number) -> Page:
    """Paginator(...).get_page(number) in two queries whatever the list's length: the page's primary keys with the
    total (COUNT(*) OVER (), computed before LIMIT), sorted with only the sort keys in each row, so a list sorted by an
    expression is scanned once and moves a few bytes per row, not whole rows; then the page's own rows by primary
    key. A row deleted in between is left out. A page past the end (or below 1) is Django's answer, the last page,
    read again."""
    try:
        number = int(number)
    except (TypeError, ValueError):
        number = 1
    if number >= 1:
        start = (number - 1) * per_page
        keys = list(queryset.annotate(total_rows=Window(Count("*"))).values_list("pk", "total_rows")[start:start + per_page])
        if keys:
            by_pk = queryset.order_by().in_bulk([pk for pk, _ in keys])
            rows = [by_pk[pk] for pk, _ in keys if pk in by_pk]
            return Page(rows, number, CountedPaginator(queryset, per_page, count=keys[0][1]))
        total = queryset.count() if start else 0
    else:
        total = queryset.count()
    return CountedPaginator(queryset, per_page, count=total).get_page(number)
