// Starts Swagger UI on /docs (oms/api/templates/swagger_ui.html): the settings come from
// the container's data attributes, so the page has no inline script.
"use strict";
(function () {
  const container = document.getElementById("swagger-ui-container");
  const config = Object.assign(
    { url: container.dataset.specUrl, dom_id: "#swagger-ui-container" },
    JSON.parse(container.dataset.config || "{}"),
  );
  window.addEventListener("load", function () {
    window.ui = SwaggerUIBundle(config);
  });
})();
