"""S3 through the project's client, on moto's server."""

import pytest

from oms.errors import NotFound
from oms.stores import s3

pytestmark = pytest.mark.integration


def test_put_then_ranged_get_returns_exactly_the_range(settings):
    data = bytes(range(256)) * 40
    s3.put_bytes("smoke/range.bin", data, content_type="application/octet-stream")

    assert s3.get_range("smoke/range.bin", 100, 1100) == data[100:1100]
    assert s3.get_range("smoke/range.bin", 0, 1) == data[:1]
    assert s3.size("smoke/range.bin") == len(data)


def test_blocks_stream_the_rest_of_the_object_from_an_offset(settings):
    data = b"header\n" + b"x" * 5000
    s3.put_bytes("smoke/blocks.csv", data)

    blocks = list(s3.iter_blocks("smoke/blocks.csv", start=7, block=1024))

    assert b"".join(blocks) == data[7:]
    assert max(len(b) for b in blocks) <= 1024


def test_missing_object_is_not_found(settings):
    with pytest.raises(NotFound):
        s3.get_range("smoke/absent.csv", 0, 10)


def test_blocks_from_the_end_of_the_object_are_none(settings):
    s3.put_bytes("smoke/header-only.csv", b"a,b\n")

    assert list(s3.iter_blocks("smoke/header-only.csv", start=4)) == []


def test_a_range_past_the_end_of_an_empty_object_is_empty(settings):
    s3.put_bytes("smoke/empty.csv", b"")

    assert s3.get_range("smoke/empty.csv", 0, 65536) == b""
