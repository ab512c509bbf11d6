"""Failed API-key attempts are limited per client address, across API workers: past
OMS_AUTH_FAILURES_PER_MINUTE failures in a minute, 429 with Retry-After; a correct key
still works; counters are per deployment; without Redis the limit fails open."""

from __future__ import annotations

import logging

import pytest
import redis
import requests

from oms.api import auth_failures
from oms.api.app import create_app
from oms.config import environ
from tests.namespaces import Written, assert_nothing_written, changed
from tests.servers import ROOT, free_port, gunicorn

pytestmark = pytest.mark.integration

KEY = "auth-failures-test-key"
LIMIT = 5


@pytest.fixture(scope="module")
def server(settings):
    """The API over gunicorn, two workers, a key and a low limit."""
    log = ROOT / ".stack" / "logs" / f"test-api-{settings.sqs_queue_prefix.rstrip('-')}.log"
    env = {
        **environ(settings),
        "OMS_API_KEYS": KEY,
        "OMS_AUTH_FAILURES_PER_MINUTE": str(LIMIT),
    }
    with gunicorn("oms.api.wsgi:app", log, workers=2, env=env) as (url, _):
        yield url


@pytest.fixture
def counters(settings):
    """This namespace's Redis; the counters the test made are removed after it."""
    client = redis.Redis.from_url(settings.redis_url)
    yield client
    for key in client.scan_iter(f"{settings.sqs_queue_prefix}auth-failures:*"):
        client.delete(key)
    client.close()


def attempt(url: str, key: str | None, method: str = "GET", path: str = "/uploads", **kwargs):
    """One request on a connection of its own, so the attempts reach both workers."""
    headers = {"Connection": "close", **({"X-API-Key": key} if key is not None else {})}
    return requests.request(method, f"{url}{path}", headers=headers, timeout=10, **kwargs)


def test_past_the_limit_failures_get_429_with_retry_after_but_the_key_still_works(
    server, settings, counters
):
    before = Written.now(settings)
    files = {"file": ("a.csv", b"order_id\n1\n", "text/csv")}
    first = [attempt(server, None), attempt(server, "wrong"), attempt(server, "wrong")]
    first += [attempt(server, "wrong", "POST", "/upload", files=files) for _ in range(2)]

    limited = attempt(server, "wrong")
    limited_post = attempt(server, "wrong", "POST", "/upload", files=files)
    correct = attempt(server, KEY)

    assert [r.status_code for r in first] == [401, 403, 403, 403, 403]
    assert limited.status_code == 429 == limited_post.status_code
    body = limited.json()
    assert body["code"] == "too_many_attempts"
    assert 1 <= int(limited.headers["Retry-After"]) <= auth_failures.WINDOW_S
    assert body["retry_after"] == int(limited.headers["Retry-After"])
    assert correct.status_code == 200  # failures only are limited
    # One count in Redis for the address, shared by both workers, named by namespace.
    assert int(counters.get(f"{settings.sqs_queue_prefix}auth-failures:127.0.0.1")) == LIMIT + 2
    assert_nothing_written(settings, before)


def test_another_deployment_does_not_share_the_counts(settings, fresh_settings, counters):
    with changed(settings, api_keys=(KEY,), auth_failures_per_minute=LIMIT):
        client = create_app(prepare_stores=False).test_client()
        answers = [client.get("/uploads").status_code for _ in range(LIMIT + 1)]
    assert answers[-1] == 429  # this address is limited in this namespace

    with changed(fresh_settings, api_keys=(KEY,), auth_failures_per_minute=LIMIT):
        other = (
            create_app(prepare_stores=False)
            .test_client()
            .get("/uploads", headers={"X-API-Key": "wrong"})
        )

    assert other.status_code == 403


def test_without_redis_the_limit_fails_open_and_says_so(settings, caplog, monkeypatch):
    monkeypatch.setattr(auth_failures, "_last_warning", [float("-inf")])
    away = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with changed(settings, api_keys=(KEY,), auth_failures_per_minute=1, redis_url=away):
        client = create_app(prepare_stores=False).test_client()
        with caplog.at_level(logging.WARNING, logger="oms.api.auth_failures"):
            answers = [client.get("/uploads", headers={"X-API-Key": "wrong"}) for _ in range(3)]

    assert [a.status_code for a in answers] == [403, 403, 403]
    assert any("not limited: Redis did not answer" in r.getMessage() for r in caplog.records)


def test_a_limit_of_zero_never_limits(settings, counters):
    with changed(settings, api_keys=(KEY,), auth_failures_per_minute=0):
        client = create_app(prepare_stores=False).test_client()
        answers = [client.get("/uploads").status_code for _ in range(30)]

    assert set(answers) == {401}
