"""Uploads are numbered 1, 2, 3, ... in creation order (``seq``), for newest-first listings.

The number is claimed by inserting the upload document itself under a unique index on
``seq``: a unique insert is atomic on both stores (FerretDB's increments are not, see
``oms.stores.mongo``). A hint document keeps the last number seen so a new upload starts
probing next to the end; a stale hint costs one probe per upload created since.
Numbers are dense (no gaps: each creation takes the first free number above the
hint, and every number below is taken), so readers can walk them back from the latest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from oms.stores import mongo

HINT_ID = "upload_seq"
BLOCK = 20  # uploads per listing block (oms.stores.pages)


def counters() -> Collection[dict[str, Any]]:
    return mongo.db()["counters"]


def block_of(seq: int) -> int:
    return seq // BLOCK


def _hint() -> int:
    doc = counters().find_one({"_id": HINT_ID})
    return int(doc["value"]) if doc else 0


@mongo.translating
def insert_numbered(insert: Callable[[int], Any]) -> int:
    """Call ``insert(seq)`` with the next free number until it does not raise
    DuplicateKeyError; returns the number taken. ``insert`` must write a document whose
    only possibly-duplicate unique key is ``seq``."""
    seq = _hint() + 1
    while True:
        try:
            insert(seq)
            break
        except DuplicateKeyError:
            seq += 1
    mongo.update_one(counters(), {"_id": HINT_ID}, {"$max": {"value": seq}}, upsert=True)
    return seq


@mongo.translating
def latest(uploads: Collection[dict[str, Any]]) -> int:
    """The highest number taken (0 when there are no uploads)."""
    seq = _hint()
    while uploads.find_one({"seq": seq + 1}, {"_id": 1}) is not None:
        seq += 1
    return seq
