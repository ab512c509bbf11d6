"""An upload's invalid rows, a page at a time, from its chunks' part files.

Each chunk that is done has written its invalid rows to a part (``invalid_file``'s
form: the source cells, ``row_number`` and ``errors``); a page reads the parts of the
done chunks in chunk order, so it shows the first invalid rows of the file while the
upload still runs. The cursor names the chunk and the row within its part where the
next page starts.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from oms.stores import s3
from oms.stores.pages import InvalidCursor, Page, decode_cursor, encode_cursor
from oms.uploads import repository as repo
from oms.uploads.status import ChunkStatus


def invalid_rows(upload_id: str, page_size: int, cursor: str | None) -> Page:
    upload = repo.get_upload(upload_id)  # NotFound for an unknown upload
    columns = list(upload.get("columns") or [])
    at = decode_cursor(cursor, required=("chunk", "row")) if cursor else {"chunk": 0, "row": 0}
    if not all(isinstance(at[key], int) and at[key] >= 0 for key in ("chunk", "row")):
        raise InvalidCursor("the cursor is not one this API handed out; follow `next`")
    items: list[dict[str, Any]] = []
    for chunk in repo.list_chunks(upload_id):
        if chunk["index"] < at["chunk"] or chunk["status"] != ChunkStatus.DONE:
            continue
        if not chunk.get("part_key"):
            continue
        rows = list(csv.reader(io.StringIO(s3.read(chunk["part_key"]).decode("utf-8"))))
        first = int(at["row"]) if chunk["index"] == at["chunk"] else 0
        for offset in range(first, len(rows)):
            if len(items) == page_size:
                return Page(items, encode_cursor({"chunk": chunk["index"], "row": offset}))
            items.append(_item(rows[offset], columns))
    return Page(items, None)


def _item(row: list[str], columns: list[str]) -> dict[str, Any]:
    """One line of a part: its cells by column, its source line and its reasons."""
    *cells, row_number, errors = row
    return {
        "row_number": int(row_number),
        "errors": errors,
        "cells": dict(zip(columns, cells, strict=False)),
    }
