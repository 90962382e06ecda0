// Starts Swagger UI on /api/docs/. A static file, not an inline script, so the Content Security Policy can
// refuse every inline script. The API authenticates with bearer tokens only: no CSRF token is needed here.
"use strict";

(function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof SwaggerUIBundle === "undefined") {
    return;
  }
  window.ui = SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    persistAuthorization: false,
  });
})();
