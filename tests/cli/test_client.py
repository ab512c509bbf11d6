"""How the client turns HTTP answers into the CLI's errors, against a scripted local HTTP
server (no OMS behind it)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from oms.cli.client import ApiClient
from oms.cli.errors import ApiRefused, ApiUnavailable, ExitCode
from tests.cli.support import OMS


class Scripted(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, tuple[int, str, bytes]]] = {}
    seen_headers: ClassVar[list[dict]] = []

    def do_GET(self) -> None:
        self.seen_headers.append(dict(self.headers))
        status, content_type, body = self.answers[self.path]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        """Drain the body slowly-ish, as a real server would, and say how much came."""
        self.seen_headers.append(dict(self.headers))
        left = int(self.headers["Content-Length"])
        while left:
            left -= len(self.rfile.read(min(64 * 1024, left)))
        body = json.dumps(
            {
                "upload_id": "u1",
                "status": "queued",
                "filename": "big.csv",
                "size": int(self.headers["Content-Length"]),
                "sha256": "-",
            }
        )
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    Scripted.answers, Scripted.seen_headers = {}, []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def answer(path: str, status: int, body: object, content_type: str = "application/json"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    Scripted.answers[path] = (status, content_type, raw)


def test_api_key_is_sent_as_header(server):
    answer("/stats", 200, {"orders": {}})
    assert ApiClient(server + "/", api_key="k-1").stats() == {"orders": {}}
    assert Scripted.seen_headers[0]["X-API-Key"] == "k-1"


def test_4xx_carries_the_apis_code_and_message(server):
    answer("/uploads/x", 404, {"code": "not_found", "message": "upload x does not exist"})
    with pytest.raises(ApiRefused) as raised:
        ApiClient(server).get_upload("x")
    assert raised.value.exit_code == ExitCode.REFUSED
    assert (raised.value.status, raised.value.code) == (404, "not_found")
    assert raised.value.message == "upload x does not exist"


def test_unauthorized_says_how_to_give_a_key(server):
    answer("/stats", 401, {"code": "unauthorized", "message": "this API needs an API key"})
    with pytest.raises(ApiRefused) as raised:
        ApiClient(server).stats()
    assert raised.value.details == ["give the API key with --api-key or OMS_API_KEY"]


def test_validation_errors_list_each_field(server):
    answer(
        "/uploads?page_size=20",
        422,
        {
            "code": "validation_error",
            "message": "the request has invalid fields",
            "fields": {"query": {"status": ["Must be one of: queued."]}},
        },
    )
    with pytest.raises(ApiRefused) as raised:
        ApiClient(server).list_uploads()
    assert raised.value.details == ["query.status: Must be one of: queued."]


def test_a_5xx_is_unavailable(server):
    answer("/stats", 503, {"code": "unavailable", "message": "MongoDB did not answer"})
    with pytest.raises(ApiUnavailable) as raised:
        ApiClient(server).stats()
    assert raised.value.exit_code == ExitCode.UNAVAILABLE
    assert raised.value.message == "the OMS API failed: MongoDB did not answer (503 unavailable)"


def test_a_non_json_error_page_still_gives_its_status(server):
    answer("/stats", 502, b"<html>Bad Gateway</html>", "text/html")
    with pytest.raises(ApiUnavailable, match=r"502 Bad Gateway"):
        ApiClient(server).stats()
    answer("/orders/o1", 404, b"not here", "text/plain")
    with pytest.raises(ApiRefused) as raised:
        ApiClient(server).get_order("o1")
    assert (raised.value.code, raised.value.message) == ("http_404", "404 Not Found")


def test_a_200_that_is_not_the_apis_json_is_unavailable(server):
    answer("/stats", 200, b"<html>some other server</html>", "text/html")
    with pytest.raises(ApiUnavailable, match="did not answer with the OMS API's JSON"):
        ApiClient(server).stats()


def test_ids_are_quoted_into_one_path_segment(server):
    answer("/orders/a%2Fb%20c", 200, {"order_id": "a/b c"})
    assert ApiClient(server).get_order("a/b c") == {"order_id": "a/b c"}


def test_upload_streams_a_large_file_without_holding_it(server, tmp_path):
    path = tmp_path / "big.csv"
    with path.open("wb") as out:
        out.write(b"order_id\n")
        for _ in range(128):
            out.write(b"1234567890\n" * 100_000)  # 1.1 MB at a time; 141 MB in all
    process = subprocess.Popen(
        [str(OMS), "--api-url", server, "upload", str(path), "--no-wait", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    peak_kib = 0
    while process.poll() is None:  # VmHWM: the process's peak resident memory so far
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{process.pid}/status").read_text()
            if "VmHWM:" in status:  # not once it is a zombie
                peak_kib = int(status.split("VmHWM:")[1].split()[0])
        time.sleep(0.05)

    assert process.returncode == 0
    assert json.loads(process.stdout.read())["upload_id"] == "u1"
    header = Scripted.seen_headers[-1]
    assert int(header["Content-Length"]) > path.stat().st_size
    assert "Transfer-Encoding" not in header
    # The interpreter with click and requests takes ~30 MiB; the file is 141 MB.
    assert 0 < peak_kib < 80 * 1024, f"peak RSS {peak_kib} KiB"
