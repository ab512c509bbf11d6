"""What the OpenAPI document says about every operation at once: the API-key scheme, the
auth answers (401, 403, 429) of every protected operation, and the error body of every
error answer.

- ``OmsApi.ERROR_SCHEMA`` makes flask-smorest's own error responses (the 422 of every
  operation with arguments, the ``default`` of every operation) use the body the API
  really sends, ``ApiErrorSchema``, instead of flask-smorest's ``{code, status, errors}``.
- ``AuthResponses`` (an apispec plugin, so it sees each operation with its Flask rule)
  marks the operations ``oms.api.auth`` leaves open with ``security: []`` and gives every
  other one the auth answers; and gives an error answer documented without a body (an
  ``alt_response`` with a description only) the error body.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin
from flask import Flask
from flask_smorest import Api

from oms.api.auth import HEADER, OPEN_ENDPOINTS
from oms.api.schemas import ApiErrorSchema

SCHEME = "ApiKey"
ERROR_REF = {"$ref": "#/components/schemas/ApiError"}
AUTH_RESPONSES = {
    "401": (
        "NO_API_KEY",
        f"no API key: send one in the {HEADER} header (only when OMS_API_KEYS is set)",
    ),
    "403": ("WRONG_API_KEY", "the API key is not one of OMS_API_KEYS"),
    "429": (
        "TOO_MANY_ATTEMPTS",
        "this client address made more failed key attempts than OMS_AUTH_FAILURES_PER_MINUTE "
        "allows; try again after Retry-After seconds (a correct key always works)",
    ),
}


class OmsApi(Api):
    ERROR_SCHEMA = ApiErrorSchema


class AuthResponses(BasePlugin):
    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        rule = kwargs.get("rule")
        is_open = rule is not None and rule.endpoint in OPEN_ENDPOINTS
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            if is_open:
                operation["security"] = []
            else:
                for status, (name, _) in AUTH_RESPONSES.items():
                    responses.setdefault(status, name)
            for status, response in responses.items():
                if str(status)[0] in "45" and isinstance(response, dict):
                    response.setdefault("content", {"application/json": {"schema": ERROR_REF}})


def spec_kwargs() -> dict[str, Any]:
    return {"extra_plugins": [AuthResponses()]}


def configure(app: Flask) -> None:
    """Settings for OmsApi(app): every operation needs the key unless it says otherwise."""
    app.config["API_SPEC_OPTIONS"] = {"security": [{SCHEME: []}]}


def declare(api: Api) -> None:
    """The key scheme, the error schema and the auth answers, before any blueprint."""
    api.spec.components.security_scheme(SCHEME, {"type": "apiKey", "in": "header", "name": HEADER})
    # "ApiError" itself is registered by flask-smorest already (OmsApi.ERROR_SCHEMA).
    for status, (name, description) in AUTH_RESPONSES.items():
        response: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": ERROR_REF}},
        }
        if status == "429":
            response["headers"] = {
                "Retry-After": {
                    "description": "seconds until the address may try again",
                    "schema": {"type": "integer"},
                }
            }
        api.spec.components.response(name, response)
