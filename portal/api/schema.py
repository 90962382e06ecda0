"""OpenAPI helpers: document every response inside the envelope."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

_cache: dict[tuple, serializers.Serializer] = {}


class PageInfoSerializer(serializers.Serializer):
    has_previous_page = serializers.BooleanField()
    has_next_page = serializers.BooleanField()
    start_cursor = serializers.CharField(allow_null=True)
    end_cursor = serializers.CharField(allow_null=True)


def envelope_of(item: type[serializers.Serializer] | serializers.Serializer, *, many: bool = False, paged: bool = False):
    if not isinstance(item, type):  # an inline_serializer() instance
        item = type(item)
    key = (item, many, paged)
    if key not in _cache:
        fields = {
            "code": serializers.BooleanField(),
            "description": serializers.CharField(),
            "error": serializers.ListField(child=serializers.CharField()),
            "data": item(many=many),
            "count": serializers.IntegerField(required=False),
        }
        if paged:
            fields["page_info"] = PageInfoSerializer(required=False)
        name = f"{item.__name__.removesuffix('Serializer')}{'List' if many else ''}Envelope"
        _cache[key] = inline_serializer(name=name, fields=fields)
    return _cache[key]


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.auth.BearerTokenAuthentication"
    name = "BearerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "A token from POST /api/authenticates (send your API key as the Authorization header there)."}


class AgentTokenScheme(OpenApiAuthenticationExtension):
    target_class = "syncs.protocol.api.AgentTokenAuthentication"
    name = "AgentToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "The Synchronizer's agent token, returned once by POST /synchronizer/v1/activate."}


def nexhealth_parameters(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: query parameters as the server reads them. Array parameters are named with their
    brackets (`provider_ids[]`), and the `format` parameter DRF derives from the renderers goes: the API is
    JSON only (the legacy vendor media type is chosen by the Accept header, not by a parameter)."""
    for path, operations in result.get("paths", {}).items():
        if path.startswith("/api/schema"):
            continue
        for operation in operations.values():
            parameters = operation.get("parameters")
            if not isinstance(parameters, list):
                continue
            kept = []
            for parameter in parameters:
                if parameter.get("in") == "query" and parameter.get("name") == "format":
                    continue
                if (parameter.get("in") == "query" and parameter.get("schema", {}).get("type") == "array"
                        and not parameter["name"].endswith("[]")):
                    parameter = {**parameter, "name": parameter["name"] + "[]"}
                kept.append(parameter)
            operation["parameters"] = kept
    return result
