from drf_spectacular.views import SpectacularSwaggerView


class ApiDocsView(SpectacularSwaggerView):
    """Swagger UI started by our static portal/api_docs.js instead of drf-spectacular's inline script (CSP)."""

    template_name = "api/docs.html"
