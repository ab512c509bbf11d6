"""API keys: when OMS_API_KEYS is set, every endpoint but the health checks, the upload
page and its static assets needs ``X-API-Key`` (401 without, 403 with a wrong one)."""

from __future__ import annotations

import hmac

from flask import Flask, Response, request

from oms.api.errors import error_response

OPEN_ENDPOINTS = {
    "health.Health",
    "health.Ready",
    "static",
    "page.index",
    "page.static",
    "api-docs.openapi_swagger_ui",
    "api-docs.openapi_json",
    "docs_assets",
    "metrics.Metrics",
}  # Prometheus scrapes without a key
HEADER = "X-API-Key"


def register(app: Flask, keys: tuple[str, ...]) -> None:
    if not keys:
        return

    @app.before_request
    def require_key() -> Response | None:
        if request.endpoint in OPEN_ENDPOINTS or request.method == "OPTIONS":
            return None
        given = request.headers.get(HEADER, "")
        if not given:
            return error_response(
                401, "unauthorized", f"this API needs an API key in the {HEADER} header"
            )
        if not any(hmac.compare_digest(given, key) for key in keys):
            return error_response(403, "forbidden", "the API key is not valid")
        return None
