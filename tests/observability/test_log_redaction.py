"""No credential in a JSON log line: secret-named fields are redacted at any depth, and
the values a process registers never appear, not even inside a message or traceback."""

import json
import logging

import pytest

from oms.observability import logging as oms_logging
from oms.observability.logging import REDACTED, JsonFormatter, bind, redact_values, unbind


def _line(message: str = "m", *args, exc_info=None, **extra) -> dict:
    record = logging.LogRecord("oms.test", logging.WARNING, "t.py", 1, message, args, exc_info)
    record.__dict__.update(extra)
    return json.loads(JsonFormatter().format(record))


@pytest.fixture(autouse=True)
def no_registered_values(monkeypatch):
    monkeypatch.setattr(oms_logging, "_secret_values", set())


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "X-API-Key",
        "api_keys",
        "password",
        "aws_secret_access_key",
        "token",
        "authorization",
        "ims_service_key",
        "flower_credentials",
    ],
)
def test_a_field_named_like_a_secret_is_redacted(name):
    assert _line(**{name: "s3cr3t-value"})[name] == REDACTED


def test_secret_fields_inside_nested_values_are_redacted_and_the_rest_kept():
    line = _line(request={"headers": {"X-API-Key": "k-123456", "Accept": "*/*"}, "rows": 3})

    assert line["request"] == {"headers": {"X-API-Key": REDACTED, "Accept": "*/*"}, "rows": 3}


def test_bound_fields_are_redacted_too():
    token = bind(upload_id="u1", token="t-123456")
    try:
        line = _line()
    finally:
        unbind(token)

    assert line["upload_id"] == "u1" and line["token"] == REDACTED


def test_registered_values_never_appear_in_a_line():
    redact_values("key-one-123456", 'with"quote-99')
    try:
        raise ValueError("refused key-one-123456")
    except ValueError:
        import sys

        line = _line("got %s and %s", "key-one-123456", 'with"quote-99', exc_info=sys.exc_info())

    text = json.dumps(line)
    assert "key-one-123456" not in text and "quote-99" not in text
    assert line["message"] == f"got {REDACTED} and {REDACTED}"


def test_short_values_are_not_registered_so_words_survive():
    redact_values("test", "")

    assert _line("the test passed")["message"] == "the test passed"
