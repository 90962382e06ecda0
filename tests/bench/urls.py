"""The project's URLs plus `/bench/bare`: a plain Django JSON view, the baseline the API endpoints are compared with."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from portal.urls import urlpatterns as portal_urlpatterns


def bare(request: HttpRequest) -> JsonResponse:
    # Same middleware stack and server as the API, but no DRF, auth, throttling or queries.
    return JsonResponse({"data": {"ok": True}, "code": True})


# Outside /api/, whose catch-all would otherwise answer 404 first.
urlpatterns = [path("bench/bare", bare, name="bench-bare"), *portal_urlpatterns]
