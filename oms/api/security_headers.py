"""Security headers on every response of the API: JSON, downloads, errors, the upload
page, its assets, Swagger UI and /openapi.json.

The upload page keeps the API key in localStorage, so a script injected into it (or a
page framing it) could take the key: its Content-Security-Policy lets it load scripts,
styles and connections from its own origin only, nothing inline, and no one may frame
it. Everything else (JSON, CSV) is data, never a document: its policy allows nothing.
Swagger UI is served from the swagger-ui-bundle package with our own template
(``templates/swagger_ui.html``, no inline script), so the page policy fits it too; it
only needs ``data:`` images for its icons, which the page's favicon needs as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # gunicorn's master imports this module (server.py): no Flask there
    from flask import Flask, Response

FRAMING = "frame-ancestors 'none'"

# Data (JSON, CSV, text): nothing may load from it, nothing may frame it.
API_CSP = f"default-src 'none'; {FRAMING}; base-uri 'none'; form-action 'none'"
# Documents (the page, Swagger UI) and their assets.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    f"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; {FRAMING}"
)

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "no-referrer",
}
# What an API answer carries, also those gunicorn writes itself (oms/api/server.py).
API_HEADERS = {
    **COMMON_HEADERS,
    "Content-Security-Policy": API_CSP,
    "Cache-Control": "no-store",  # answers hold orders and customers: no cache keeps them
}

DOCUMENT_ENDPOINTS = {"page.index", "api-docs.openapi_swagger_ui"}
ASSET_ENDPOINTS = {"page.static", "static", "docs_assets"}  # cacheable, not secret


def register(app: Flask) -> None:
    from flask import request

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        endpoint = request.endpoint
        for name, value in COMMON_HEADERS.items():
            response.headers.setdefault(name, value)
        if endpoint in DOCUMENT_ENDPOINTS or endpoint in ASSET_ENDPOINTS:
            response.headers["Content-Security-Policy"] = PAGE_CSP
        else:
            response.headers["Content-Security-Policy"] = API_CSP
        if endpoint not in ASSET_ENDPOINTS:
            response.headers["Cache-Control"] = "no-store"
        return response
