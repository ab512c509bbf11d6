"""One error body for the whole API: ``{"code", "message"}`` (+ ``fields`` or details)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from oms.api.slow_clients import ClientTooSlow
from oms.errors import Conflict, NoBucket, NotFound, Unavailable
from oms.orders.commands import NoStock
from oms.orders.workflow import TransitionRefused
from oms.pipeline.retry import NotRetryable
from oms.stores.pages import InvalidCursor
from oms.uploads.mappings import BadMapping
from oms.uploads.receive import UploadRefused

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "too_large",
    414: "request_line_too_long",
    415: "unsupported",
    422: "validation_error",
    429: "too_many_attempts",
    431: "headers_too_large",
    500: "internal_error",
    503: "unavailable",
}


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    response = jsonify({"code": code, "message": message, **extra})
    response.status_code = status
    return response


def register(app: Flask) -> None:
    @app.errorhandler(UploadRefused)
    def refused(exc: UploadRefused) -> Response:
        return error_response(exc.status, exc.code, exc.message, **exc.details)

    @app.errorhandler(BadMapping)
    def bad_mapping(exc: BadMapping) -> Response:
        return error_response(422, exc.code, exc.message)

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound) -> Response:
        return error_response(404, "not_found", str(exc))

    @app.errorhandler(NoBucket)
    def no_bucket(exc: NoBucket) -> Response:  # the service's fault, not the client's
        return error_response(503, "unavailable", str(exc))

    @app.errorhandler(InvalidCursor)
    def invalid_cursor(exc: InvalidCursor) -> Response:
        return error_response(
            422, "validation_error", str(exc), fields={"query": {"cursor": [str(exc)]}}
        )

    @app.errorhandler(TransitionRefused)
    def refused_move(exc: TransitionRefused) -> Response:
        return error_response(
            409,
            "transition_not_allowed",
            str(exc),
            current_status=str(exc.current),
            allowed=exc.allowed,
        )

    @app.errorhandler(NoStock)
    def no_stock(exc: NoStock) -> Response:
        return error_response(409, "no_stock", str(exc), available=exc.available)

    @app.errorhandler(Conflict)
    def conflict(exc: Conflict) -> Response:
        return error_response(409, exc.code, str(exc))

    @app.errorhandler(NotRetryable)
    def not_retryable(exc: NotRetryable) -> Response:
        return error_response(409, "conflict", str(exc))

    @app.errorhandler(Unavailable)
    def unavailable(exc: Unavailable) -> Response:
        return error_response(503, "unavailable", str(exc))

    @app.errorhandler(ClientTooSlow)
    def client_too_slow(exc: ClientTooSlow) -> Response:
        return error_response(408, "request_timeout", f"{exc}; send the request again")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        extra = {}
        data = getattr(exc, "data", None) or {}
        if status == 422 and "messages" in data:  # webargs validation from flask-smorest
            extra["fields"] = data["messages"]
        message = exc.description or exc.name
        if extra:
            message = "the request has invalid fields"
        return error_response(status, CODES.get(status, "error"), message, **extra)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", "internal error; see the API log")
