"""Cursor pagination (v20240412: start_cursor / end_cursor / per_page / page_info) and page numbers (v2)."""

import base64
import binascii
from dataclasses import dataclass

from django.db.models import QuerySet
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


def paginate(queryset: QuerySet, params: dict, *, cursor: bool) -> Page:
    """One page of `queryset` (ordered by id here), plus the total count."""
    per_page = params.get("per_page") or DEFAULT_PER_PAGE
    count = queryset.count()
    if not cursor:
        page = params.get("page") or 1
        items = list(queryset.order_by("id")[(page - 1) * per_page: page * per_page])
        return Page(items=items, count=count, page_info=None)

    if params.get("start_cursor"):  # the page before this cursor
        before = decode_cursor(params["start_cursor"])
        window = list(queryset.filter(pk__lt=before).order_by("-id")[: per_page + 1])
        has_previous, has_next = len(window) > per_page, True
        items = list(reversed(window[:per_page]))
    else:  # the first page, or the page after end_cursor
        after = decode_cursor(params["end_cursor"]) if params.get("end_cursor") else None
        page_qs = queryset.filter(pk__gt=after) if after is not None else queryset
        window = list(page_qs.order_by("id")[: per_page + 1])
        has_previous, has_next = after is not None, len(window) > per_page
        items = window[:per_page]
    page_info = {
        "has_previous_page": has_previous,
        "has_next_page": has_next,
        "start_cursor": encode_cursor(items[0].pk) if items else None,
        "end_cursor": encode_cursor(items[-1].pk) if items else None,
    }
    return Page(items=items, count=count, page_info=page_info)
