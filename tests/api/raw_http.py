"""HTTP over a bare socket, for requests no client library would send (half a head, a
5 KB request line, raw non-ASCII header bytes)."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


def send(url: str, data: bytes, timeout: float = 10) -> RawResponse:
    """Send ``data`` as it is, read the answer until the server closes."""
    with socket.create_connection(address(url), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
            if _complete(received):
                break
    return parse(received)


def _complete(received: bytes) -> bool:
    head, found, body = received.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def parse(received: bytes) -> RawResponse:
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(int(status_line.split()[1]), headers, body)


def get(path: str, *headers: bytes) -> bytes:
    """A complete GET request with extra raw header lines; the server closes after it."""
    lines = [f"GET {path} HTTP/1.1".encode(), b"Host: test", b"Connection: close", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"
