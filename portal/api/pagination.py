"""Cursor pagination (v20240412: start_cursor / end_cursor / per_page / page_info) and page numbers (v2)."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Q, QuerySet, Window
from django.db.models.query import ModelIterable
from rest_framework import serializers

MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 5


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"id:{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        pk = int(value)
        if kind != "id" or not 0 <= pk < 2**63:
            raise ValueError
        return pk
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise serializers.ValidationError({"cursor": "The cursor is not valid. Use start_cursor or end_cursor from page_info."})


class PageParams(serializers.Serializer):
    per_page = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PER_PAGE, default=DEFAULT_PER_PAGE)
    page = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000, default=1)
    start_cursor = serializers.CharField(required=False, allow_blank=True)
    end_cursor = serializers.CharField(required=False, allow_blank=True)


@dataclass
class Page:
    items: list
    count: int
    page_info: dict | None


def paginate(queryset: QuerySet, params: dict, *, cursor: bool, order: tuple[str, ...] = ()) -> Page:
    """One page of `queryset`, plus the total count. Ordered by `order` (field names, "-" for descending; the
    id breaks ties), or by id alone: then cursors stay the plain `id:N` older clients hold."""
    if order:
        return _paginate_sorted(queryset, params, cursor=cursor, order=order)
    per_page = params.get("per_page") or DEFAULT_PER_PAGE
    if not cursor:
        page = params.get("page") or 1
        items, count = rows_with_total(queryset.order_by("id"), (page - 1) * per_page, page * per_page)
        return Page(items=items, count=count, page_info=None)
    count = None

    if params.get("start_cursor"):  # the page before this cursor
        before = decode_cursor(params["start_cursor"])
        window = list(queryset.filter(pk__lt=before).order_by("-id")[: per_page + 1])
        has_previous, has_next = len(window) > per_page, True
        items = list(reversed(window[:per_page]))
    else:  # the first page, or the page after end_cursor
        after = decode_cursor(params["end_cursor"]) if params.get("end_cursor") else None
        if after is None:
            window, count = rows_with_total(queryset.order_by("id"), 0, per_page + 1)
        else:
            window = list(queryset.filter(pk__gt=after).order_by("id")[: per_page + 1])
        has_previous, has_next = after is not None, len(window) > per_page
        items = window[:per_page]
    page_info = {
        "has_previous_page": has_previous,
        "has_next_page": has_next,
        "start_cursor": encode_cursor(items[0].pk) if items else None,
        "end_cursor": encode_cursor(items[-1].pk) if items else None,
    }
    return Page(items=items, count=queryset.count() if count is None else count, page_info=page_info)


def rows_with_total(ordered: QuerySet, start: int, stop: int) -> tuple[list, int]:
    """A slice of the rows and the total in one query (COUNT(*) OVER () is computed before LIMIT); a slice past the
    end has no row to carry the total, so only then is it counted apart. DISTINCT or grouped rows (and dicts) are
    counted apart too: the window would count the rows before DISTINCT."""
    query = ordered.query
    if query.distinct or query.group_by is not None or ordered._iterable_class is not ModelIterable:
        return list(ordered[start:stop]), ordered.count()
    items = list(ordered.annotate(total_rows=Window(Count("*")))[start:stop])
    return items, (items[0].total_rows if items else (ordered.count() if start else 0))


# --- Keyset pagination over a sort order ------------------------------------------------------------------
# A cursor holds the sort values of the row it points at, so a page is one indexed range read however deep.

def _key_value(value):
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    if isinstance(value, int):
        return ["i", value]
    return ["s", "" if value is None else str(value)]


def _decode_key_value(tagged):
    kind, value = tagged
    parse = {"t": datetime.fromisoformat, "d": date.fromisoformat, "i": int, "s": str}[kind]
    return parse(value)


def encode_sort_cursor(obj, fields: list[str]) -> str:
    values = [_key_value(getattr(obj, name)) for name in fields]
    return base64.urlsafe_b64encode(("k:" + json.dumps(values, separators=(",", ":"))).encode()).decode().rstrip("=")


def decode_sort_cursor(cursor: str, fields: list[str]) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("k:"):
            raise ValueError
        values = [_decode_key_value(tagged) for tagged in json.loads(raw[2:])]
        if len(values) != len(fields):
            raise ValueError
        return values
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, binascii.Error, json.JSONDecodeError):
        raise serializers.ValidationError({"cursor": "The cursor is not valid. Use start_cursor or end_cursor from page_info."})


def _beyond(fields: list[str], descending: list[bool], values: list, *, forward: bool) -> Q:
    """Rows strictly after (forward) or before the row with these sort values."""
    condition = Q()
    for i, name in enumerate(fields):
        later = descending[i] != forward  # ascending and forward: greater
        step = Q(**{f"{name}__{'gt' if later else 'lt'}": values[i]})
        for j in range(i):
            step &= Q(**{fields[j]: values[j]})
        condition |= step
    return condition


def _paginate_sorted(queryset: QuerySet, params: dict, *, cursor: bool, order: tuple[str, ...]) -> Page:
    per_page = params.get("per_page") or DEFAULT_PER_PAGE
    order = tuple(order) if order[-1].lstrip("-") == "id" else (*order, "id")
    fields = [name.lstrip("-") for name in order]
    descending = [name.startswith("-") for name in order]
    reverse = tuple(name[1:] if name.startswith("-") else f"-{name}" for name in order)
    count = queryset.count()
    if not cursor:
        page = params.get("page") or 1
        return Page(items=list(queryset.order_by(*order)[(page - 1) * per_page: page * per_page]), count=count,
                    page_info=None)
    if params.get("start_cursor"):
        values = decode_sort_cursor(params["start_cursor"], fields)
        window = list(queryset.filter(_beyond(fields, descending, values, forward=False)).order_by(*reverse)[: per_page + 1])
        has_previous, has_next = len(window) > per_page, True
        items = list(reversed(window[:per_page]))
    else:
        values = decode_sort_cursor(params["end_cursor"], fields) if params.get("end_cursor") else None
        page_qs = queryset.filter(_beyond(fields, descending, values, forward=True)) if values else queryset
        window = list(page_qs.order_by(*order)[: per_page + 1])
        has_previous, has_next = values is not None, len(window) > per_page
        items = window[:per_page]
    page_info = {
        "has_previous_page": has_previous,
        "has_next_page": has_next,
        "start_cursor": encode_sort_cursor(items[0], fields) if items else None,
        "end_cursor": encode_sort_cursor(items[-1], fields) if items else None,
    }
    return Page(items=items, count=count, page_info=page_info)
