"""The base of every developer API view: bearer token, version header, rate limits, query validation."""

from rest_framework import exceptions, serializers
from rest_framework.views import APIView

from portal.api.auth import ApiClient, BearerTokenAuthentication
from portal.api.pagination import Page, PageParams, paginate
from portal.api.throttling import ApiKeyRateThrottle

V2 = "v2"
V20240412 = "v20240412"
VERSIONS = {"v2": V2, "v20240412": V20240412, "v3.0.0": V20240412}
LEGACY_ACCEPT = "application/vnd.nexhealth+json;version=2"


class IsApiClient:
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, ApiClient)

    def has_object_permission(self, request, view, obj) -> bool:
        return True


def api_version(request, *, required: bool) -> str:
    """Nex-Api-Version: v2, v20240412 or its alias v3.0.0; or the legacy vendor Accept header (v2)."""
    header = request.META.get("HTTP_NEX_API_VERSION", "").strip()
    if header:
        if header not in VERSIONS:
            raise exceptions.ValidationError(
                {"Nex-Api-Version": f"'{header}' is not a supported version. Use v20240412 (alias v3.0.0) or v2."})
        return VERSIONS[header]
    if LEGACY_ACCEPT in request.META.get("HTTP_ACCEPT", "").replace(" ", "").lower():
        return V2
    if required:
        raise exceptions.ValidationError({"Nex-Api-Version": "This header is required. Use v20240412 (alias v3.0.0) or v2."})
    return V2


def validated(serializer_class: type[serializers.Serializer], data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class NexApiView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsApiClient]
    throttle_classes = [ApiKeyRateThrottle]
    rate_bucket = "default"
    # Operations whose reference declares the Nex-Api-Version header as required.
    version_header_required = True
    # Method -> error statuses its reference operation does not declare, where we would otherwise give them: a scope
    # error is then answered with the other one (403 <-> 404, see api_exception_handler) and the schema omits it.
    reference_lacks: dict[str, frozenset[int]] = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        request.api_version = api_version(request, required=self.version_header_required)

    @property
    def allowed_methods(self) -> list[str]:
        # OPTIONS is answered like any method the reference does not have (the envelope's 404): not advertised.
        return [method for method in super().allowed_methods if method != "OPTIONS"]

    @property
    def client(self) -> ApiClient:
        return self.request.user

    def query(self, serializer_class: type[serializers.Serializer]) -> dict:
        """Validated query parameters (400 in the envelope otherwise).

        `x[]=1&x[]=2` arrives as the list `x`; it wins over a plain `x`. A repeated plain `x` keeps its last value.
        """
        data = {}
        for key, values in self.request.query_params.lists():
            if key.endswith("[]"):
                data[key.removesuffix("[]")] = values
            elif f"{key}[]" not in self.request.query_params:
                data[key] = values[-1]
        return validated(serializer_class, data)

    def body(self, serializer_class: type[serializers.Serializer]) -> dict:
        """The validated request body (400 in the envelope otherwise)."""
        return validated(serializer_class, self.request.data)

    def page(self, queryset, params: dict) -> Page:
        """A page ordered by the `sort` parameter if any (see sort_param), else by id."""
        order = tuple(params.get("sort") or ())
        return paginate(queryset, params, cursor=self.request.api_version == V20240412,
                        order=() if order == ("id",) else order)


def sort_param(*allowed: str) -> serializers.Field:
    """The reference's `sort`: comma-separated field names, a leading dash for descending."""
    choices = [name for sort in allowed for name in (sort, f"-{sort}")]

    class SortField(serializers.CharField):
        def to_internal_value(self, data):
            names = [part.strip() for part in super().to_internal_value(data).split(",") if part.strip()]
            if not names or any(name not in choices for name in names):
                raise serializers.ValidationError(f"Sort by any of {', '.join(choices)} (comma-separated).")
            return names

    return SortField(required=False, help_text=f"Comma-separated; any of {', '.join(choices)}.")


MAX_ID = 2**63 - 1  # ids are 64-bit; a larger number must be a 400, not a database error


class IdField(serializers.IntegerField):
    def __init__(self, **kwargs) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class IdConverter:
    """`<id:id>` in API paths: digits that fit a 64-bit id (anything else is the envelope's 404)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class ListParams(PageParams):
    """Base for list endpoints: pagination plus the scope."""

    subdomain = serializers.CharField(required=True)
