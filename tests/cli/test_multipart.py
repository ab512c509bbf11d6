"""The streamed multipart body, parsed back by werkzeug's form parser (the API's own
multipart implementation) and by the stdlib email parser; no server involved."""

import email.parser
import email.policy
import io
import os

import pytest
import requests
from werkzeug.formparser import parse_form_data

from oms.cli.multipart import FileChanged, MultipartFile


def parse(body: MultipartFile) -> tuple[dict, dict]:
    raw = b"".join(body)
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": body.content_type,
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
    }
    _, form, files = parse_form_data(environ)
    return form, files


def test_body_parses_back_to_the_exact_file_bytes(tmp_path):
    # Binary-ish content with CRLFs and boundary-like lines, larger than several blocks.
    data = (b"order_id,sku\r\n--oms-\r\n" + os.urandom(700_000) + b"\r\n--\r\n") * 2
    path = tmp_path / "orders.csv"
    path.write_bytes(data)

    form, files = parse(MultipartFile(path, block_bytes=64 * 1024))

    assert list(files) == ["file"] and not form
    assert files["file"].filename == "orders.csv"
    assert files["file"].mimetype == "text/csv"
    assert files["file"].read() == data


def test_file_is_read_in_blocks_and_reported_as_sent(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * (1000 * 1024 + 17))
    reported = []
    body = MultipartFile(path, block_bytes=256 * 1024, on_block=reported.append)

    blocks = list(body)

    assert blocks[0] == body.preamble and blocks[-1] == body.epilogue
    assert [len(b) for b in blocks[1:-1]] == [256 * 1024] * 3 + [232 * 1024 + 17]
    assert reported == [len(b) for b in blocks[1:-1]]
    assert len(body) == sum(map(len, blocks))


def test_body_can_be_sent_twice(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"order_id\n1\n")
    body = MultipartFile(path)
    assert b"".join(body) == b"".join(body)


def test_stdlib_email_parser_reads_the_same_part(tmp_path):
    data = b"order_id,sku\n1,SKU-1\n"
    path = tmp_path / "orders.csv"
    path.write_bytes(data)
    body = MultipartFile(path)

    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {body.content_type}\r\n\r\n".encode() + b"".join(body)
    )

    [part] = message.get_payload()
    assert part.get_param("name", header="content-disposition") == "file"
    assert part.get_filename() == "orders.csv"
    assert part.get_payload(decode=True) == data


def test_filename_with_quotes_newline_and_unicode_stays_one_header(tmp_path):
    path = tmp_path / 'bé "q"\n.csv'
    path.write_bytes(b"order_id\n1\n")

    _, files = parse(MultipartFile(path))

    # werkzeug, like browsers, turns %22 back into a quote; a line break stays encoded.
    assert files["file"].filename == 'bé "q"%0A.csv'
    assert files["file"].read() == b"order_id\n1\n"


def test_empty_file_gives_an_empty_part(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    _, files = parse(MultipartFile(path))
    assert files["file"].read() == b""


def test_requests_sends_a_content_length_not_a_chunked_body(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"order_id\n1\n" * 1000)
    body = MultipartFile(path)

    prepared = requests.Request(
        "POST", "http://oms.invalid/upload", data=body, headers={"Content-Type": body.content_type}
    ).prepare()

    assert prepared.headers["Content-Length"] == str(len(body))
    assert "Transfer-Encoding" not in prepared.headers
    assert prepared.body is body  # streamed, not copied into memory


@pytest.mark.parametrize("change", [b"", b"order_id\n1\n2\n3\n"])
def test_a_file_that_changes_size_while_sent_is_an_error(tmp_path, change):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"order_id\n1\n2\n")
    body = MultipartFile(path)
    blocks = iter(body)
    next(blocks)  # the preamble: the size is fixed now
    path.write_bytes(change)
    with pytest.raises(FileChanged):
        list(blocks)
