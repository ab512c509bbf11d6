"""The OpenAPI document tells the truth: it declares the API-key scheme and the error
body of every error answer, and schemathesis, run against a live API over gunicorn,
finds no server error and no answer that the document does not describe."""

from __future__ import annotations

import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from oms.api.app import create_app
from oms.config import environ
from tests.pipeline.rows import to_csv, valid_row
from tests.servers import ROOT, gunicorn

pytestmark = pytest.mark.integration

KEY = "contract-test-key"
OPEN = {("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics")}
ERROR_REF = "#/components/schemas/ApiError"
EXAMPLES_PER_OPERATION = 50


@pytest.fixture(scope="module")
def spec(settings) -> dict:
    return create_app(settings, prepare_stores=False).test_client().get("/openapi.json").get_json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method, path, operation


def resolve(spec: dict, response: dict) -> dict:
    if "$ref" in response:
        return spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


def test_the_api_key_scheme_applies_to_everything_but_the_open_endpoints(spec):
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert spec["security"] == [{"ApiKey": []}]
    for method, path, operation in operations(spec):
        if (method, path) in OPEN:
            assert operation["security"] == [], path
        else:
            assert "security" not in operation, path  # the global requirement
            assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)


def test_every_error_answer_is_documented_with_the_error_body(spec):
    error = spec["components"]["schemas"]["ApiError"]
    assert set(error["required"]) == {"code", "message"}
    assert {"fields", "missing", "found", "suggestions", "allowed", "current_status"} <= set(
        error["properties"]
    )
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status == "default" or status >= "400":
                if (method, path, status) == ("get", "/readyz", "503"):
                    continue  # readiness answers its own body when a dependency fails
                schema = resolve(spec, response)["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (method, path, status)
    retry_after = spec["components"]["responses"]["TOO_MANY_ATTEMPTS"]["headers"]
    assert "Retry-After" in retry_after


# --- schemathesis against the live API ------------------------------------------------


@pytest.fixture(scope="module")
def live_api(settings, pipeline):
    """The API over gunicorn with a key, a worker and IMS behind it, holding one
    processed upload, so listings answer real uploads, orders and invalid files."""
    log = ROOT / ".stack" / "logs" / f"test-api-{settings.sqs_queue_prefix.rstrip('-')}.log"
    env = {**environ(settings), "OMS_API_KEYS": KEY, "OMS_AUTH_FAILURES_PER_MINUTE": "0"}
    with gunicorn("oms.api.wsgi:app", log, env=env) as (url, _):
        rows = [valid_row(1, prefix="CTR"), valid_row(2, prefix="CTR", quantity="-3")]
        accepted = requests.post(
            f"{url}/upload",
            files={"file": ("contract.csv", to_csv(rows), "text/csv")},
            headers={"X-API-Key": KEY},
            timeout=30,
        ).json()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            upload = requests.get(
                f"{url}{accepted['status_url']}", headers={"X-API-Key": KEY}, timeout=10
            ).json()
            if upload["status"] == "completed":
                break
            time.sleep(0.3)
        assert upload["status"] == "completed", upload
        yield url


@pytest.fixture(scope="module")
def live_schema(live_api):
    return schemathesis.openapi.from_url(f"{live_api}/openapi.json")


def live_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, read from the app's own document, so each is a
    test of its own; the live document must list the same ones."""
    app = create_app(prepare_stores=False)
    return [(m.upper(), p) for m, p, _ in operations(app.test_client().get("/openapi.json").json)]


@pytest.mark.parametrize(("method", "path"), live_operations())
def test_the_live_api_keeps_to_its_document(live_schema, method, path):
    """Generated requests (valid and invalid ones, schemathesis's strategies driven by
    hypothesis), with the key, to every operation; POST /upload too, with the
    multipart bodies schemathesis makes (a PNG, random fields: refused, as they must
    be; tests/api/test_hostile_requests.py covers uploads in depth)."""
    operation = live_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def keeps_to_the_document(case) -> None:
        case.call_and_validate(
            headers={"X-API-Key": KEY},
            checks=[not_a_server_error, response_schema_conformance],
            timeout=30,
        )

    keeps_to_the_document()
