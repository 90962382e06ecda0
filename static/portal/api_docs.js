// Starts Swagger UI on /api/docs/. A static file, not an inline script, so the Content Security Policy can
// refuse every inline script. The API authenticates with bearer tokens only: no CSRF token is needed here.
"use strict";

(function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof SwaggerUIBundle === "undefined") {
    return;
  }
  root.textContent = "";
  window.ui = SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Deep links put a link inside each operation's toggle button (nested interactive controls); the
    // highlighter's inline colours fail contrast. Both off: plain, readable, keyboard-friendly.
    deepLinking: false,
    syntaxHighlight: false,
    persistAuthorization: false,
  });

  // Swagger renders as the reader expands operations: name its unlabelled selects after their parameter and let
  // the keyboard reach scrolling examples.
  function label() {
    root.querySelectorAll("select:not([aria-label])").forEach(function (select) {
      var row = select.closest("tr");
      var name = row && row.dataset.paramName;
      select.setAttribute("aria-label", name ? "Value of " + name : "Media type");
    });
    root.querySelectorAll("pre:not([tabindex]), textarea.curl").forEach(function (block) {
      block.setAttribute("tabindex", "0");
    });
  }
  new MutationObserver(label).observe(root, { childList: true, subtree: true });
})();
