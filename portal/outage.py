"""An unavailable dependency (the database, Redis) answers 503 with Retry-After, never a 500.

/api/ and /synchronizer/ answer in the NexHealth envelope, so clients and the reference agent retry; portal pages
get a plain page rendered without the request (its context processors would query the database again).
"""

import logging
import sys

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from portal.api.views import server_error as api_server_error
from portal.dependencies import OUTAGE_ERRORS

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 15
ENVELOPE_PREFIXES = ("/api/", "/synchronizer/")


def outage_response(request) -> HttpResponse:
    if request.path.startswith(ENVELOPE_PREFIXES):
        from portal.api.envelope import error_body  # DRF's settings import the envelope: not at module load

        response = JsonResponse(error_body("Service unavailable", [
            "A service Chairside depends on is unavailable. Retry after the number of seconds in Retry-After."]),
            status=503)
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class OutageMiddleware:
    """Views (DRF included: its handler re-raises what it does not know) that hit an outage answer 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OUTAGE_ERRORS):
            logger.warning("%s %s: dependency unavailable (%s: %s); answered 503", request.method, request.path,
                           exception.__class__.__name__, exception)
            return outage_response(request)
        return None


def handler500(request):
    """Outages raised outside a view (a middleware's session or user lookup) reach here; the rest is a 500."""
    exception = sys.exc_info()[1]
    if isinstance(exception, OUTAGE_ERRORS):
        return outage_response(request)
    return api_server_error(request)
