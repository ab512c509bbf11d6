"""Where an upload's files live in S3: the uploaded file, invalid-row parts, the invalid file.

uploads/<upload_id>/<filename>        the file as received
invalid/<upload_id>/part-<n>.csv      one chunk's invalid rows
invalid/<upload_id>.csv               the upload's invalid-rows file (its "name")
"""

from __future__ import annotations

import re

INVALID_PREFIX = "invalid/"
_INVALID_FILE_NAME = re.compile(r"[0-9a-f]{32}\.csv")


def upload_key(upload_id: str, filename: str) -> str:
    return f"uploads/{upload_id}/{filename}"


def part_key(upload_id: str, index: int) -> str:
    return f"{INVALID_PREFIX}{upload_id}/part-{index:06d}.csv"


def invalid_file_name(upload_id: str) -> str:
    return f"{upload_id}.csv"


def invalid_key(upload_id: str) -> str:
    return f"{INVALID_PREFIX}{invalid_file_name(upload_id)}"


def is_invalid_file_name(name: str) -> bool:
    return _INVALID_FILE_NAME.fullmatch(name) is not None


def invalid_file_of(key: str) -> str | None:
    """The invalid-file name stored at ``key``, or None if ``key`` is not such a file."""
    name = key.removeprefix(INVALID_PREFIX)
    return name if key.startswith(INVALID_PREFIX) and is_invalid_file_name(name) else None


def key_of_invalid_file(name: str) -> str:
    return f"{INVALID_PREFIX}{name}"


def missing_message(key: str) -> str:
    """What a user is told when ``key`` is not in S3: the thing in their words, never
    the bucket or the key (``oms.stores.s3`` logs those)."""
    if name := invalid_file_of(key):
        return f"no invalid-records file named {name}"
    parts = key.split("/")
    if len(parts) == 3 and parts[0] == "uploads":
        return f"the uploaded file of upload {parts[1]} is missing"
    if len(parts) == 3 and key.startswith(INVALID_PREFIX) and parts[2].startswith("part-"):
        chunk = parts[2].removeprefix("part-").removesuffix(".csv").lstrip("0") or "0"
        return f"the invalid rows of chunk {chunk} of upload {parts[1]} are missing"
    if not key:
        return "the file store has no bucket for this deployment"
    return "the requested file does not exist"
