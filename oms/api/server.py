"""The gunicorn worker of the API (and IMS): gevent, so idle or slow clients cannot take
the server, and gunicorn's own error answers in the API's JSON error shape.

Why a worker class of our own (``oms/api/gunicorn_conf.py`` names it):

- **gevent**: each connection is a greenlet, not a thread, so a thousand idle or slow
  connections per worker (``worker_connections``) cost memory, not the worker. A sync
  or threaded worker is taken by as many stalled connections as it has threads.
- **A deadline on the request head.** gunicorn has no header timeout; its async workers
  only wrap the reading of each request head in ``timeout_ctx()``. Ours gives the first
  request of a connection ``HEAD_TIMEOUT_S`` from the accept to its last header line,
  and a kept-alive connection ``keepalive`` seconds from the previous answer to the next
  complete head. A connection that misses it is closed without an answer; nothing else
  was held for it (no app code runs before the head is complete).
- **An idle timeout on every socket read and write** (``IO_TIMEOUT_S``): a request body
  that stops arriving, or a client that stops reading its answer, ends with a socket
  timeout (the app answers 408, ``oms/api/errors.py``) instead of holding a greenlet and
  an S3 multipart upload forever. It bounds each wait, not the whole body: a large
  upload that keeps flowing takes as long as it needs.
- **JSON errors from gunicorn itself.** gunicorn answers a request it cannot parse (a
  request line over ``limit_request_line``, too many or too large header fields, bad
  HTTP) before the app sees it, through ``gunicorn.util.write_error``, as HTML. The
  worker replaces that function, in its own process only, with one that answers
  ``{"code", "message"}`` with the API's security headers.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import gevent
import gunicorn.util
from gevent.local import local
from gunicorn.http.errors import InvalidHeader
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

from oms.api.security_headers import API_HEADERS

HEAD_TIMEOUT_S = 10.0  # from accept to the end of the first request's head
IO_TIMEOUT_S = 60.0  # longest wait for one read or write on a client socket

# gunicorn's status for a request it refused -> the API's error code.
GUNICORN_ERROR_CODES = {
    400: "bad_request",
    403: "forbidden",
    414: "request_line_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
}
_MESSAGES = {
    414: "the request line (method, path and query) is too long",
    431: "the request has too many header fields, or one that is too large",
}


def json_error(status: int, reason: str, detail: str) -> bytes:
    """A complete HTTP/1.1 answer (the connection closes after it) in the API's error
    shape, for a request gunicorn refused before any app saw it."""
    code = GUNICORN_ERROR_CODES.get(status, "bad_request" if status < 500 else "internal_error")
    message = _MESSAGES.get(status) or (
        f"the request is not valid HTTP: {detail[:200]}" if detail else reason.lower()
    )
    body = json.dumps({"code": code, "message": message}).encode()
    headers = {
        "Connection": "close",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        **API_HEADERS,
    }
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    return (head + "\r\n").encode("latin-1") + body


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for ``gunicorn.util.write_error`` (same arguments)."""
    gunicorn.util.write_nonblock(sock, json_error(status_int, reason, mesg))


class HardenedGeventWorker(GeventWorker):
    """``-k gevent`` plus the head deadline, socket idle timeout and JSON errors above."""

    def init_process(self) -> None:
        if not self.cfg.keepalive:
            # With keepalive 0 gunicorn reads each head outside timeout_ctx(): no deadline.
            raise RuntimeError("HardenedGeventWorker needs keepalive >= 1 (the head deadline)")
        gunicorn.util.write_error = write_json_error
        self._connection = local()  # per greenlet, so per connection
        super().init_process()

    def handle(self, listener: socket.socket, client: socket.socket, addr: Any) -> None:
        # GeventWorker.handle would make the socket blocking without a timeout.
        client.settimeout(IO_TIMEOUT_S)
        self._connection.answered = False
        AsyncWorker.handle(self, listener, client, addr)

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> None:
        try:
            super().handle_request(listener_name, req, sock, addr)
        finally:
            self._connection.answered = True
            # Let every other connection with a request waiting be served before this
            # one reads its next request. gevent.sleep(0) is not enough: it resumes this
            # greenlet in the same loop iteration, before the sockets that became readable
            # meanwhile are polled; gevent.idle() waits for that poll. Measured with wrk
            # (8 kept-alive connections, 2 threads, 10 s) on a hello-world app, 2 workers:
            # neither p90 25.9 ms, p99 88.3 ms; sleep(0) p90 7.5 ms, p99 28.5 ms; idle()
            # p90 2.8 ms, p99 8.4 ms.
            gevent.idle()

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        if isinstance(exc, InvalidHeader) and isinstance(exc.hdr, str):
            # A line without a colon is logged whole ("X-API-Key <key>" would log a key):
            # keep the name it starts with.
            exc.hdr = exc.hdr.split(":")[0].split(" ")[0][:64]
        super().handle_error(req, client, addr, exc)

    def timeout_ctx(self) -> gevent.Timeout:
        """Wraps reading one request head (gunicorn's async worker calls it for nothing
        else). On expiry the read stops silently and gunicorn closes the connection."""
        first = not getattr(self._connection, "answered", False)
        return gevent.Timeout(HEAD_TIMEOUT_S if first else self.cfg.keepalive, False)
