from django.views.decorators.http import require_http_methods
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.views import APIView

from portal.api.auth import token_mint
from portal.api.envelope import json_error, ok
from portal.api.schema import envelope_of
from portal.api.throttling import failed_key_attempts_exceeded, record_failed_key_attempt
from portal.api_keys import api_key_authenticate, api_key_touch
from portal.audit import client_ip


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class Authenticates(APIView):
    """Trade an API key (sent as the whole Authorization header) for a bearer token."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(
        operation_id="postAuthenticates", tags=["Authenticates"], request=None,
        parameters=[OpenApiParameter("Authorization", str, OpenApiParameter.HEADER, required=True,
                                     description="Your API key, as is (no 'Bearer').")],
        responses={201: envelope_of(TokenSerializer)},
    )
    def post(self, request):
        ip = client_ip(request._request)
        if failed_key_attempts_exceeded(ip):
            raise exceptions.Throttled(wait=60, detail="Too many failed attempts with invalid API keys. Try again in a minute.")
        api_key = api_key_authenticate(request.META.get("HTTP_AUTHORIZATION", ""))
        if api_key is None:
            record_failed_key_attempt(ip)
            raise exceptions.AuthenticationFailed("The API key is invalid, revoked or expired.")
        api_key_touch(api_key)
        response = ok({"token": token_mint(api_key)}, status_code=201)
        response["Cache-Control"] = "no-store"  # a bearer token
        return response


@csrf_exempt  # any method: the envelope's 404, never the CSRF failure page
@require_http_methods(["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"])  # the same 404 whatever the method
def api_not_found(request, path: str = ""):
    return json_error(404, f"There is no API endpoint for {request.method} /api/{path}.")


def server_error(request):
    """handler500: errors outside the API views (middleware, routing) still answer /api/ in the envelope."""
    if request.path.startswith("/api/"):
        return json_error(500, "Something went wrong on our side. Try again later.")
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)
