"""A request body that stops arriving, told apart from every other timeout.

The server's socket idle timeout (``oms/api/server.py``) makes a read of ``wsgi.input``
raise ``TimeoutError`` when the client sends nothing for that long. Left alone, werkzeug
would call it a disconnect (400) or the app an internal error (500), and a store's own
timeout could be mistaken for it. ``timed_input`` wraps the body stream so that exactly
this case becomes :class:`ClientTooSlow`, which the API answers 408
(``oms/api/errors.py``); whatever the request started (an upload's S3 multipart upload)
is undone on the way out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING

from oms.errors import OMSError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class ClientTooSlow(OMSError):
    """The client stopped sending its request body."""


class TimedInput:
    """``wsgi.input`` whose socket timeouts raise ClientTooSlow."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except TimeoutError as exc:
            raise ClientTooSlow("the request body stopped arriving") from exc

    def readline(self, size: int = -1) -> bytes:
        try:
            return self._stream.readline(size)
        except TimeoutError as exc:
            raise ClientTooSlow("the request body stopped arriving") from exc

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


def timed_input(app: WSGIApplication) -> WSGIApplication:
    """WSGI middleware: the app reads its request bodies through TimedInput."""

    def wrapped(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if "wsgi.input" in environ:
            environ["wsgi.input"] = TimedInput(environ["wsgi.input"])
        return app(environ, start_response)

    return wrapped
