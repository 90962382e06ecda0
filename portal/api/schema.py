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


ERROR_DESCRIPTIONS = {
    400: "Bad request: a parameter, header or body that does not validate (field messages in `error`).",
    401: "Unauthorized: no, an invalid or an expired token (on /authenticates: an invalid API key).",
    403: "Forbidden: an institution or location this key cannot reach.",
    404: "Not found: no such record for this key, or a location outside the institution.",
    429: "Too many requests: wait the seconds in Retry-After.",
    500: "Internal server error (logged).",
    503: "A service Chairside depends on is unavailable: retry after the seconds in Retry-After.",
}
ERROR_ENVELOPE = {
    "type": "object", "required": ["code", "description", "error", "data"],
    "properties": {"code": {"type": "boolean", "enum": [False]}, "description": {"type": "string"},
                   "error": {"type": "array", "items": {"type": "string"}},
                   "data": {"type": "object", "nullable": True, "description": "Always null on an error."}},
}


def error_statuses(path: str, method: str, operation: dict) -> list[int]:
    """The errors an operation can answer, from what it takes: every one can be refused (401), throttled (429), fail
    (500) or meet an outage (503); anything with a version header, parameters or a body can be invalid (400); a
    subdomain can be out of reach (403); an id in the path, a location or an onboarding can name nothing (404)."""
    if path == "/api/authenticates":
        return [401, 429, 500, 503]
    query = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
    statuses = {400, 401, 429, 500, 503}
    if "subdomain" in query or path.startswith("/api/onboardings") and method == "post":
        statuses.add(403)
    if "{" in path or "location_id" in query:
        statuses.add(404)
    return sorted(statuses)


def nexhealth_error_responses(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: every error an operation of the developer API can answer, in the envelope."""
    result.setdefault("components", {}).setdefault("schemas", {})["ErrorEnvelope"] = ERROR_ENVELOPE
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    views = {(path, method.lower()): callback.cls for path, _, method, callback in generator.endpoints or ()}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/") or path.startswith(("/api/schema", "/api/docs")):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            lacks = getattr(views.get((path, method)), "reference_lacks", {}).get(method.upper(), frozenset())
            for status in error_statuses(path, method, operation):
                if status in lacks:
                    continue
                responses.setdefault(str(status), {
                    "description": ERROR_DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": envelope}},
                })
    return result


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
