"""moto's server, started by the local stack, with ranged GETs served from the range.

Defect of moto 5.2.5 worked around here: a GET of an object with a ``Range`` header
reads the whole object and copies it (``FakeKey.value`` reads the key's buffer and
``copy.copy``s it), then ``S3Response._handle_range_header`` slices the range out. Each
chunk of an upload asks for its own byte range, so a 1M-row file (170 MB, 200 chunks)
made moto copy 170 MB 200 times: the chunks' fetch stage took 86 chunk-seconds and moto
reached 1,006 MB RSS (BENCHMARKS.md). Here a GET hands moto a view of the key's content
that reads only what is sliced out of it, so a range costs its own bytes; a GET without
a range still gets the whole object. Nothing else of moto changes. LocalStack
(docker-compose) serves ranges itself.

    python -m devstack.moto_server -H 127.0.0.1 -p 4566   (moto_server's arguments)
"""

from __future__ import annotations

import sys
import threading
from typing import Any

_reading = threading.local()  # set while a server thread runs moto's get_object


class KeyContent:
    """A key's content as moto's GET code uses it (``len``, slices, ``bytes``), read
    from the key's buffer only where it is sliced."""

    def __init__(self, key: Any) -> None:
        self._key = key

    def __len__(self) -> int:
        return int(self._key.size)

    def __getitem__(self, part: slice) -> bytes:
        start, stop, _ = part.indices(len(self))
        with self._key.lock:
            self._key._value_buffer.seek(start)
            return self._key._value_buffer.read(max(0, stop - start))

    def __bytes__(self) -> bytes:
        return self[:]


def install() -> None:
    """Patch moto's S3 classes (once)."""
    from moto.s3.models import FakeKey
    from moto.s3.responses import S3Response

    if getattr(S3Response.key_response, "serves_ranges", False):
        return
    whole = FakeKey.value  # the property: read and copy the whole buffer

    def value(key: Any) -> Any:
        if getattr(_reading, "get", False):
            return KeyContent(key)
        return whole.fget(key)

    get_object = S3Response.get_object
    key_response = S3Response.key_response

    def get_object_lazily(self: Any) -> Any:
        _reading.get = True
        try:
            return get_object(self)
        finally:
            _reading.get = False

    def key_response_by_range(self: Any, request: Any, full_url: str, headers: Any) -> Any:
        status, response_headers, content = key_response(self, request, full_url, headers)
        if isinstance(content, KeyContent):  # no range asked for: the whole object
            content = bytes(content)
        return status, response_headers, content

    key_response_by_range.serves_ranges = True  # type: ignore[attr-defined]
    FakeKey.value = property(value, whole.fset)  # type: ignore[method-assign, assignment]
    S3Response.get_object = get_object_lazily  # type: ignore[method-assign]
    S3Response.key_response = key_response_by_range  # type: ignore[method-assign]


def main() -> int:
    install()
    from moto.server import main as moto_main

    sys.argv[0] = "moto_server"
    moto_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
