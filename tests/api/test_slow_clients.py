"""The API over real gunicorn and real sockets, against clients that stall, send oversized
or broken request heads, or send header bytes no library would: idle connections do
not take the server, and every refusal is JSON in the API's error shape."""

from __future__ import annotations

import socket

import pytest
import requests

from oms.api.security_headers import API_CSP
from oms.config import environ
from tests.api.raw_http import address, get, send
from tests.servers import ROOT, gunicorn

pytestmark = pytest.mark.integration

KEY = "slow-clients-test-key"
STALLED_CONNECTIONS = 50  # the old threaded server froze with 8 (2 workers x 4 threads)


@pytest.fixture(scope="module")
def server(settings):
    """The API (gunicorn, the project's server settings) in this module's namespace."""
    log = ROOT / ".stack" / "logs" / f"test-api-{settings.sqs_queue_prefix.rstrip('-')}.log"
    with gunicorn("oms.api.wsgi:app", log, env={**environ(settings), "OMS_API_KEYS": KEY}) as (
        url,
        _,
    ):
        yield url


def test_stalled_request_heads_neither_block_others_nor_stay_open(server):
    stalled: list[socket.socket] = []
    try:
        for _ in range(STALLED_CONNECTIONS):
            sock = socket.create_connection(address(server), timeout=30)
            sock.sendall(b"GET /uploads HTTP/1.1\r\nHost: test\r\nX-API-")  # and nothing more
            stalled.append(sock)

        health = requests.get(f"{server}/healthz", timeout=10)
        uploads = requests.get(f"{server}/uploads", headers={"X-API-Key": KEY}, timeout=10)

        assert health.json() == {"status": "ok"}
        assert uploads.status_code == 200
        # After the head deadline the server closes each one, answering nothing (a
        # connection it kept would make recv time out and fail the test).
        assert [sock.recv(1024) for sock in stalled] == [b""] * STALLED_CONNECTIONS
    finally:
        for sock in stalled:
            sock.close()


def test_a_connection_that_sends_nothing_is_closed_too(server):
    with socket.create_connection(address(server), timeout=30) as sock:
        assert sock.recv(1024) == b""


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (get("/uploads?q=" + "a" * 5000), 414, "request_line_too_long"),
        (
            get("/uploads", *(f"X-Filler-{n}: 1".encode() for n in range(60))),
            431,
            "headers_too_large",
        ),
        (get("/uploads", b"X-Big: " + b"b" * 9000), 431, "headers_too_large"),
        (b"NOT AN HTTP REQUEST\r\n\r\n", 400, "bad_request"),
        (get("/uploads", b"X-API-Key " + KEY.encode()), 400, "bad_request"),  # no colon
    ],
    ids=["long-request-line", "too-many-headers", "header-too-large", "not-http", "no-colon"],
)
def test_requests_gunicorn_refuses_are_answered_in_the_api_error_shape(
    server, request_bytes, status, code
):
    response = send(server, request_bytes)

    assert response.status == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == code and body["message"]
    assert KEY not in body["message"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == API_CSP


@pytest.mark.parametrize(
    "key",
    [
        "ключ-не-тот".encode(),  # UTF-8
        b"\xff\xfe\xfd",  # not UTF-8 at all
        b"k" * 4000,  # long, but within the header limits
        (KEY + "é").encode(),  # the key plus one more character
    ],
    ids=["utf-8", "latin-1-bytes", "4000-bytes", "key-plus-one"],
)
def test_any_wrong_key_value_is_403_json(server, key):
    response = send(server, get("/uploads", b"X-API-Key: " + key))

    assert response.status == 403
    assert response.json()["code"] == "forbidden"


def test_the_key_sent_as_raw_bytes_still_works(server):
    response = send(server, get("/uploads", b"X-API-Key: " + KEY.encode()))

    assert response.status == 200
    assert response.headers["cache-control"] == "no-store"
