"""The API reference in the portal's own frame: Swagger UI from our static files, started by our static
portal/api_docs.js (the Content Security Policy refuses inline scripts), themed by portal/api_docs.css."""

from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_safe

SWAGGER = "drf_spectacular_sidecar/swagger-ui-dist/"


@require_safe
def api_docs(request):
    """Public, like the schema. A signed-in member gets the portal's sidebar; anyone else a header with Sign in."""
    signed_in = request.user.is_authenticated and bool(request.membership)  # membership is lazy: bool() reads it
    return render(request, "api/docs.html", {
        "layout": "base.html" if signed_in else "layouts/docs_public.html",
        "schema_url": reverse("api-schema"),
        "swagger_ui_css": static(SWAGGER + "swagger-ui.css"),
        "swagger_ui_bundle": static(SWAGGER + "swagger-ui-bundle.js"),
    })
