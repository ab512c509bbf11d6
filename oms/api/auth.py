"""API keys: when OMS_API_KEYS is set, every endpoint but the health checks, /metrics, the
upload page, its static assets and the API docs needs ``X-API-Key`` (401 without, 403
with a wrong one; 429 once an address has failed too often, ``oms/api/auth_failures.py``).

Any header value is compared, never parsed: the bytes as sent (WSGI hands headers over
as latin-1 text) against each key's UTF-8 bytes, through SHA-256 so that the comparison
takes the same time whatever the value's length, and against every key, so the time
does not tell which key came close either.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, Response, request

from oms.api import auth_failures
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
    "metrics.Metrics",  # Prometheus scrapes without a key
}
HEADER = "X-API-Key"


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


def header_bytes(value: str) -> bytes:
    """A header value's bytes as the client sent them."""
    try:
        return value.encode("latin-1")  # PEP 3333: what a WSGI server hands over
    except UnicodeEncodeError:  # text beyond latin-1 (a test client): its UTF-8
        return value.encode("utf-8")


def key_matches(given: str, key_digests: list[bytes]) -> bool:
    candidate = _digest(header_bytes(given))
    matches = [hmac.compare_digest(candidate, digest) for digest in key_digests]
    return any(matches)


def register(app: Flask, keys: tuple[str, ...]) -> None:
    if not keys:
        return
    key_digests = [_digest(key.encode("utf-8")) for key in keys]

    @app.before_request
    def require_key() -> Response | None:
        if request.endpoint in OPEN_ENDPOINTS or request.method == "OPTIONS":
            return None
        given = request.headers.get(HEADER, "")
        if given and key_matches(given, key_digests):
            return None
        retry_after = auth_failures.record_failure(request.remote_addr or "unknown")
        if retry_after is not None:
            response = error_response(
                429,
                "too_many_attempts",
                f"too many failed API-key attempts from this address; try again in {retry_after} s",
                retry_after=retry_after,
            )
            response.headers["Retry-After"] = str(retry_after)
            return response
        if not given:
            return error_response(
                401, "unauthorized", f"this API needs an API key in the {HEADER} header"
            )
        return error_response(403, "forbidden", "the API key is not valid")
