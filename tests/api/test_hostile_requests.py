"""Requests a hostile or careless client sends: every one is refused with a 4xx in the
API's JSON error shape (never a 500), and a refused one writes nothing anywhere."""

from __future__ import annotations

import dataclasses
import io

import pytest

from oms.api.app import create_app
from oms.stores import s3
from tests.namespaces import Written, assert_nothing_written
from tests.pipeline.rows import to_csv, valid_row

pytestmark = pytest.mark.integration

KEY = "hostile-requests-key"


@pytest.fixture(scope="module")
def keyed_api(settings):
    """The real app with an API key, in this module's namespace."""
    return create_app(dataclasses.replace(settings, api_keys=(KEY,))).test_client()


def call(client, method: str, path: str, **kwargs):
    headers = {"X-API-Key": KEY, **kwargs.pop("headers", {})}
    return client.open(path, method=method, headers=headers, **kwargs)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == code and body["message"], body
    return body


@pytest.mark.parametrize(
    "key",
    ["ключ", "k" * 10_000, KEY + " ", "", " " + KEY + "\u00e9", "\x00"],
    ids=["non-ascii", "10k-chars", "trailing-space", "empty", "latin-1", "nul"],
)
def test_a_wrong_or_strange_key_is_refused_not_crashed(keyed_api, key):
    response = keyed_api.get("/uploads", headers={"X-API-Key": key})

    if key:
        assert_error(response, 403, "forbidden")
    else:
        assert_error(response, 401, "unauthorized")


MULTIPART = "multipart/form-data; boundary=XyZ"
FILE_PART_HEAD = (
    b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
    b"Content-Type: text/csv\r\n\r\n"
)


@pytest.mark.parametrize(
    "body",
    [
        b"this is not multipart at all",
        b"--XyZ\r\nContent-Type: text/csv\r\n\r\nno disposition\r\n--XyZ--\r\n",
        b"--XyZ\r\n" + b"X" * 300_000,  # a part head that never ends
        FILE_PART_HEAD + to_csv([valid_row(1, prefix="HST")]),  # never closed
    ],
    ids=["garbage", "no-disposition", "endless-part-head", "truncated"],
)
def test_a_broken_multipart_body_is_400_and_writes_nothing(keyed_api, settings, body):
    before = Written.now(settings)

    response = call(keyed_api, "POST", "/upload", data=body, content_type=MULTIPART)

    assert_error(response, 400, "bad_request")
    assert_nothing_written(settings, before)
    assert not s3.client().list_multipart_uploads(Bucket=settings.s3_bucket).get("Uploads")


class StallingBody(io.BytesIO):
    """A request body whose client stops sending: after ``give`` bytes, each read times
    out as the server's socket would (oms/api/server.py)."""

    def __init__(self, data: bytes, give: int) -> None:
        super().__init__(data)
        self.give = give

    def read(self, size: int | None = -1) -> bytes:
        left = self.give - self.tell()
        if left <= 0:
            raise TimeoutError("timed out")
        return super().read(left if size is None or size < 0 else min(size, left))


def test_a_body_that_stops_arriving_is_408_and_writes_nothing(keyed_api, settings):
    rows = to_csv([valid_row(n, prefix="STL") for n in range(3000)])  # > 64 KiB: S3 started
    body = FILE_PART_HEAD + rows + b"\r\n--XyZ--\r\n"
    before = Written.now(settings)

    response = call(
        keyed_api,
        "POST",
        "/upload",
        input_stream=StallingBody(body, give=len(body) - 1000),
        content_type=MULTIPART,
    )

    assert_error(response, 408, "request_timeout")
    assert_nothing_written(settings, before)
    assert not s3.client().list_multipart_uploads(Bucket=settings.s3_bucket).get("Uploads")


@pytest.mark.parametrize(
    "query",
    [
        "hub_id=" + "h" * 101,
        "upload_id=" + "u" * 101,
        "cursor=" + "c" * 501,
        "status=" + "s" * 5000,
        "hub_id=HUB%00X",
        "upload_id=%0A",
        "page_size=" + "9" * 60,
        "page_size=-1",
        "page_size=1e400",
        "page_size=NaN",
    ],
)
def test_absurd_order_query_values_are_422_naming_the_field(keyed_api, query):
    body = assert_error(call(keyed_api, "GET", f"/orders?{query}"), 422, "validation_error")

    assert query.split("=")[0] in body["fields"]["query"]


def test_absurd_upload_query_values_are_422(keyed_api):
    for path in ("/uploads?page_size=0", "/uploads?cursor=%00", "/upload?chunk_rows=" + "9" * 40):
        method = "POST" if path.startswith("/upload?") else "GET"
        assert_error(call(keyed_api, method, path), 422, "validation_error")


@pytest.mark.parametrize("path", ["/orders", "/uploads", "/invalid-files", "/stats"])
def test_unknown_query_parameters_are_ignored_everywhere(keyed_api, path):
    response = call(keyed_api, "GET", f"{path}?no_such_parameter=1&{'x' * 50}=y")

    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize(
    "path",
    [
        "/orders/%00",
        "/orders/" + "o" * 3000,
        "/uploads/%00",
        "/uploads/..%2F..%2Fetc",
        "/invalid-files/%00.csv",
        "/orders/x%0Ay/cancel",
    ],
)
def test_strange_identifiers_in_a_path_are_404(keyed_api, settings, path):
    before = Written.now(settings)
    method = "POST" if path.endswith("/cancel") else "GET"

    assert_error(call(keyed_api, method, path), 404, "not_found")
    assert_nothing_written(settings, before)


def test_a_missing_invalid_file_is_named_in_user_terms_not_by_its_s3_key(keyed_api, settings):
    name = "0123456789abcdef0123456789abcdef.csv"

    body = assert_error(call(keyed_api, "GET", f"/invalid-files/{name}"), 404, "not_found")

    assert body["message"] == f"no invalid-records file named {name}"
    assert settings.s3_bucket not in body["message"]
    assert "invalid/" not in body["message"] and "s3://" not in body["message"]
