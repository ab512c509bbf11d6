"""IMS exceptions and the one JSON error body every response uses: ``{"code", "message"}``."""

from __future__ import annotations

import logging
import re
from typing import Any

import psycopg
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ImsError(Exception):
    status = 500
    code = "internal_error"
    retry_after: int | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retry_after: int | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if retry_after is not None:
            self.retry_after = retry_after
        self.details = details


class Unauthorized(ImsError):
    status = 401
    code = "unauthorized"


class Forbidden(ImsError):
    status = 403
    code = "forbidden"


class BadRequest(ImsError):
    status = 400
    code = "bad_request"


class NotFound(ImsError):
    status = 404
    code = "not_found"


class Conflict(ImsError):
    status = 409
    code = "conflict"


class TooLarge(ImsError):
    status = 413
    code = "too_many_items"


def error_response(status: int, code: str, message: str, **details: Any):
    body = {"code": code, "message": message}
    body.update(details)
    return jsonify(body), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ImsError)
    def ims_error(exc: ImsError):
        response, status = error_response(exc.status, exc.code, exc.message, **exc.details)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = re.sub(r"[^a-z0-9]+", "_", (exc.name or "error").lower()).strip("_")
        response, status = error_response(exc.code or 500, code, exc.description or code)
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response, status

    # A dead or restarting server, a pool that gave no connection in time (PoolTimeout is
    # an OperationalError) or a deadlock retried too often: transient, so 503 with
    # Retry-After, which clients retry like any 5xx.
    @app.errorhandler(psycopg.OperationalError)
    def store_error(exc: psycopg.OperationalError):
        log.warning("PostgreSQL unavailable: %s", exc)
        response, status = error_response(503, "store_unavailable", "inventory store unavailable")
        response.headers["Retry-After"] = "1"
        return response, status

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "internal server error")
