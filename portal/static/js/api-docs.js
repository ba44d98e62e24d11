// Starts Swagger UI on the API documentation page (/api/v1/docs) over the OpenAPI
// document named by data-openapi-url. A file of its own: the CSP allows no inline script.
(function () {
  'use strict'
  var root = document.getElementById('swagger-ui')
  if (!root || typeof window.SwaggerUIBundle !== 'function') return
  window.SwaggerUIBundle({
    url: root.getAttribute('data-openapi-url'),
    domNode: root,
    // Deep links put an <a> inside each operation's button (axe: nested-interactive).
    deepLinking: false,
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
    validatorUrl: null
  })
})()
