"""Upload listings, newest first, by blocks of ``sequence.BLOCK`` upload numbers.

Each query is ``{block: n}`` (plus ``status``), an equality both stores serve from an
index, returning at most ``sequence.BLOCK`` documents ordered in memory; no sort, range
or skip reaches the store (see ``oms.stores.pages``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from oms.stores import mongo
from oms.stores.pages import Page, decode_cursor, encode_cursor
from oms.uploads import sequence
from oms.uploads.repository import uploads

MAX_BLOCKS = 50  # blocks one page may examine (1,000 uploads)


def _descending(from_seq: int, query: dict[str, Any]) -> Iterator[tuple[int, list[dict]]]:
    """(block, its uploads numbered <= from_seq, newest first), block after block."""
    for block in range(sequence.block_of(from_seq), -1, -1):
        docs = [d for d in uploads().find({"block": block, **query}) if d["seq"] <= from_seq]
        docs.sort(key=lambda d: d["seq"], reverse=True)
        yield block, docs


@mongo.translating
def newest_first(from_seq: int = 0) -> Iterator[dict[str, Any]]:
    """Every upload numbered ``from_seq`` or lower (all when 0), newest first."""
    start = from_seq or sequence.latest(uploads())
    for _, docs in _descending(start, {}):
        yield from docs


@mongo.translating
def list_uploads(page_size: int, cursor: str | None = None, status: str | None = None) -> Page:
    """One page of uploads, newest first, optionally of one status."""
    start = decode_cursor(cursor, required=("s",))["s"] if cursor else sequence.latest(uploads())
    page = Page()
    if start < 1:
        return page
    query = {"status": status} if status else {}
    for examined, (block, docs) in enumerate(_descending(start, query)):
        if examined == MAX_BLOCKS:
            page.next = encode_cursor({"s": block * sequence.BLOCK + sequence.BLOCK - 1})
            return page
        for doc in docs:
            if len(page.items) == page_size:
                page.next = encode_cursor({"s": doc["seq"]})
                return page
            page.items.append(doc)
    return page
