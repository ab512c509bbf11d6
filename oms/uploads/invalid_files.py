"""The invalid-rows files of uploads, as stored in S3 (layout in ``oms.uploads.keys``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from oms.errors import NotFound
from oms.stores import s3
from oms.uploads import keys


def list_files() -> list[dict[str, Any]]:
    """Every invalid-rows file (name, upload_id, size, last_modified), newest first."""
    files: list[dict[str, Any]] = [
        {
            "name": name,
            "size": obj["Size"],
            "upload_id": name.removesuffix(".csv"),
            "last_modified": obj["LastModified"],
        }
        for obj in s3.list_keys(keys.INVALID_PREFIX)
        if (name := keys.invalid_file_of(obj["Key"]))
    ]
    files.sort(key=lambda f: f["last_modified"], reverse=True)
    return files


def read_file(name: str, block: int = 256 * 1024) -> Iterator[bytes]:
    """The file's bytes, in blocks; NotFound if there is no such file."""
    if not keys.is_invalid_file_name(name):
        raise NotFound(f"no invalid-records file named {name!r}")
    return s3.open_stream(keys.key_of_invalid_file(name)).iter_chunks(block)
