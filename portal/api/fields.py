"""Field types the reference's records share: money as {"amount", "currency"}, and text it declares non-nullable.
portal/api/sql_json.py prints both the same way in SQL."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class MoneySerializer(serializers.Serializer):
    amount = serializers.CharField()
    currency = serializers.CharField()


def money_of(amount: Decimal | None, currency: str) -> dict:
    return {"amount": f"{amount or 0:.2f}", "currency": currency or "USD"}


@extend_schema_field(MoneySerializer)
class Money(serializers.Field):
    """{"amount": "12.50", "currency": "USD"} from a decimal column and the record's currency."""

    def __init__(self, attribute: str | None = None, **kwargs) -> None:
        self.attribute = attribute
        super().__init__(source="*", read_only=True, **kwargs)

    def bind(self, field_name, parent):
        super().bind(field_name, parent)
        self.attribute = self.attribute or field_name

    def to_representation(self, obj) -> dict:
        return money_of(getattr(obj, self.attribute), getattr(obj, "currency", "USD"))


class Text(serializers.CharField):
    """A string the reference declares non-nullable: empty rather than null when unknown."""

    def get_attribute(self, instance):
        value = super().get_attribute(instance)
        return "" if value is None else value
