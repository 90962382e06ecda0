"""A list page's records as JSON built by PostgreSQL, from the same serializer that documents them.

A page of 100 records spends most of its time in Python turning rows into objects and objects into JSON: psycopg
parses every timestamp and JSON column, Django builds model instances, the serializer reads them back. For the
busiest list endpoints PostgreSQL builds the page's JSON in the page's own order and the envelope embeds it as it
is (an orjson Fragment). The serializer stays the source of truth: each of its fields maps to a column, a timestamp
printed as DRF prints it, or an expression given here; a field that maps to none is an error when the SQL is built,
and tests/api/test_fast_serializers.py checks both paths give the same records. Other databases take the
serializer path.
"""

from functools import cached_property

import orjson
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from rest_framework import serializers

from portal.api.fast import iso_utc_sql
from portal.api.fields import Money, Text


def money_sql(amount: str, currency: str) -> str:
    """money_of in SQL: {"amount": "12.50", "currency": "USD"}, two decimals and no grouping, USD when the
    currency is empty."""
    return (f"json_build_object('amount', to_char(COALESCE({amount}, 0), 'FM9999999999990.00'), "
            f"'currency', COALESCE(NULLIF({currency}, ''), 'USD'))")


def _money_field_sql(model, attribute: str) -> str:
    """A Money field: a decimal column and the record's currency (USD for a model without one)."""
    column = f"t.{connection.ops.quote_name(model._meta.get_field(attribute).column)}"
    has_currency = any(f.name == "currency" for f in model._meta.concrete_fields)
    return money_sql(column, "t.currency" if has_currency else "''")


class RowsAsJson:
    def __init__(self, serializer_class: type[serializers.ModelSerializer], expressions: dict[str, str] | None = None,
                 joins: str = "", select_related: tuple[str, ...] = ()):
        self.serializer_class = serializer_class
        self.expressions = expressions or {}  # field name -> SQL over the record's table, aliased `t`, and `joins`
        self.joins = joins  # more FROM items the expressions read (joined once per record)
        self.select_related = select_related  # what the serializer reads through relations (the fallback's joins)

    @cached_property
    def select(self) -> str:
        model = self.serializer_class.Meta.model
        columns = {f.attname: f for f in model._meta.concrete_fields} | {f.name: f for f in model._meta.concrete_fields}
        skipped = set(getattr(self.serializer_class, "expansions", ()))  # only with include[], which takes the serializer
        if getattr(self.serializer_class, "omit_when_null", ()):
            raise ImproperlyConfigured(f"{self.serializer_class.__name__} leaves out null fields: json_build_object cannot")
        pairs = []
        for field in self.serializer_class()._readable_fields:
            name = field.field_name
            if name in skipped:
                continue
            if name in self.expressions:
                sql = self.expressions[name]
            elif isinstance(field, Money):
                sql = _money_field_sql(model, field.attribute)
            else:
                model_field = columns.get(field.source)
                if model_field is None:
                    raise ImproperlyConfigured(f"{self.serializer_class.__name__}.{name} has no column: give its SQL")
                column = f"t.{connection.ops.quote_name(model_field.column)}"
                if isinstance(field, serializers.DateTimeField):
                    sql = iso_utc_sql(column)
                elif isinstance(field, serializers.DateField):
                    sql = f"to_char({column}, 'YYYY-MM-DD')"
                elif isinstance(field, Text):
                    sql = f"COALESCE({column}, '')"
                elif isinstance(field, (serializers.CharField, serializers.IntegerField, serializers.BooleanField,
                                        serializers.ChoiceField, serializers.JSONField, serializers.ReadOnlyField)):
                    sql = column
                else:
                    raise ImproperlyConfigured(f"{self.serializer_class.__name__}.{name}: give its SQL")
            pairs.append(f"'{name}', {sql}")
        table = connection.ops.quote_name(model._meta.db_table)
        return (f"SELECT COALESCE(json_agg(json_build_object({', '.join(pairs)}) ORDER BY page.n), '[]')::text "
                f"FROM unnest(%s::bigint[]) WITH ORDINALITY AS page(id, n) JOIN {table} t ON t.id = page.id {self.joins}")

    def page(self, ids: list[int]):
        """The records with these ids, in this order: an orjson Fragment on PostgreSQL, else the serializer's list."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(self.select, [ids])
                return orjson.Fragment(cursor.fetchone()[0])
        model = self.serializer_class.Meta.model
        found = model.objects.select_related(*self.select_related).in_bulk(ids)
        return self.serializer_class([found[pk] for pk in ids if pk in found], many=True).data
