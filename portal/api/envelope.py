"""The NexHealth envelope: {code, description, data, error, count}, on successes and errors alike."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from portal.dependencies import OUTAGE_ERRORS


def ok(data: Any, *, description: str = "Success", status_code: int = 200, count: int | None = None,
       page_info: dict | None = None) -> Response:
    body: dict[str, Any] = {"code": True, "description": description, "error": [], "data": data}
    if count is not None:
        body["count"] = count
    if page_info is not None:
        body["page_info"] = page_info
    return Response(body, status=status_code)


def error_body(description: str, errors: list[str]) -> dict:
    return {"code": False, "description": description, "error": errors, "data": None}


def flatten_errors(detail: Any, field: str = "") -> list[str]:
    """DRF error details to NexHealth's list of strings: 'location_id: A valid integer is required.'"""
    if isinstance(detail, dict):
        return [message for key, value in detail.items() for message in flatten_errors(value, _join(field, str(key)))]
    if isinstance(detail, list):
        return [message for item in detail for message in flatten_errors(item, field)]
    return [f"{field}: {detail}" if field else str(detail)]


def _join(field: str, key: str) -> str:
    if key in ("non_field_errors", "detail"):
        return field
    return f"{field}.{key}" if field else key


DESCRIPTIONS = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
}
log = logging.getLogger("portal.api")


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every API error in the envelope, with the status code the reference uses."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "Forbidden")
    if isinstance(exc, OUTAGE_ERRORS):
        return None  # re-raised: portal.outage answers 503 with Retry-After, in the envelope
    view = context.get("view")
    if isinstance(exc, exceptions.UnsupportedMediaType):
        # The reference declares no 415: a body we cannot read is a bad request.
        exc = exceptions.ParseError(f"{exc.detail} Send application/json.")
    elif getattr(exc, "scope", False):
        # An institution or location out of reach is a 403, a location outside the institution a 404; where the
        # operation's reference lacks that status (ledger lists: no 404; DELETE /working_hours/{id}: no 403), the
        # other one, which it declares.
        lacks = getattr(view, "reference_lacks", {}).get(context["request"].method, frozenset())
        if isinstance(exc, exceptions.NotFound) and 404 in lacks:
            exc = exceptions.PermissionDenied(exc.detail)
        elif isinstance(exc, exceptions.PermissionDenied) and 403 in lacks:
            exc = exceptions.NotFound(exc.detail)
    if isinstance(exc, exceptions.MethodNotAllowed):
        # The reference declares no 405 anywhere (nor OPTIONS): an unrouted method is an endpoint that does not exist.
        request = context["request"]
        allowed = [method for method in view.allowed_methods if method != "OPTIONS"]
        response = Response(error_body(DESCRIPTIONS[404], [f"There is no API endpoint for {request.method} {request.path}."]),
                            status=404, headers={"Allow": ", ".join(allowed)})
        return response
    if not isinstance(exc, exceptions.APIException):
        # A bug: logged with its traceback, answered in the envelope (never Django's HTML page).
        log.error("Unhandled error in %s", type(context.get("view")).__name__, exc_info=exc)
        set_rollback()
        return Response(error_body(DESCRIPTIONS[500], ["Something went wrong on our side. Try again later."]), status=500)
    code = exc.status_code
    errors = flatten_errors(exc.detail)
    headers = {}
    if isinstance(exc, (exceptions.AuthenticationFailed, exceptions.NotAuthenticated)):
        code = status.HTTP_401_UNAUTHORIZED
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(int(exc.wait) + 1)
    set_rollback()
    return Response(error_body(DESCRIPTIONS.get(code, "Error"), errors), status=code, headers=headers)


def json_error(status_code: int, message: str) -> JsonResponse:
    """For errors raised outside DRF views (unknown /api/ paths)."""
    return JsonResponse(error_body(DESCRIPTIONS.get(status_code, "Error"), [message]), status=status_code)
