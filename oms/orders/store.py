"""Storing validated rows as orders, telling a re-run's own rows from real duplicates.

Each order's ``_id`` is its source position, ``<upload_id>:<row_number>``, and ``order_id``
has a unique index. A chunk's first attempt needs no read at all: any duplicate-key
failure is a real duplicate (its ``_id`` is new, so its order_id is held elsewhere). A
re-run first reads which of its row ids are stored (by the listing blocks the chunk
covers: equality queries both stores serve from an index), counts those as its own, and
inserts only the rest. Ingestion never updates an order document after inserting it (an
update costs 1.2-1.5 ms per document on the local store); event delivery state lives on
the chunk (see outbox.py).

``block`` groups the orders of an upload by ``BLOCK_ROWS`` consecutive records of the file
(record ordinal // BLOCK_ROWS), the unit of order listings (``oms.orders.listing``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from oms.ingest.schema import OrderRow
from oms.orders.money import to_cents
from oms.stores import mongo

DUPLICATE_KEY = 11000
BLOCK_ROWS = 50  # records of the file per listing block


def block_key(upload_id: str, ordinal: int) -> str:
    """The listing block of the record at 0-based position ``ordinal`` among the file's
    records."""
    return f"{upload_id}:{ordinal // BLOCK_ROWS}"


def blocks_of(upload_id: str, first_ordinal: int, records: int) -> list[str]:
    """The blocks covering records [first_ordinal, first_ordinal + records)."""
    if records <= 0:
        return []
    last = first_ordinal + records - 1
    return [f"{upload_id}:{n}" for n in range(first_ordinal // BLOCK_ROWS, last // BLOCK_ROWS + 1)]


ORDERS = "orders"  # the collection


def orders() -> Collection[dict[str, Any]]:
    return mongo.db()[ORDERS]


def row_key(upload_id: str, line: int) -> str:
    return f"{upload_id}:{line}"


def order_document(
    row: OrderRow, upload_id: str, ordinal: int, created_at: datetime
) -> dict[str, Any]:
    """The stored form of a valid row (record ``ordinal`` of the file): status on_hold,
    money in exact cents."""
    return {
        "_id": row_key(upload_id, row.line),
        "_v": 0,
        "order_id": row.order_id,
        "upload_id": upload_id,
        "row_number": row.line,
        "block": block_key(upload_id, ordinal),
        "customer": {"name": row.customer_name, "email": row.customer_email},
        "item": {
            "sku": row.sku,
            "product_name": row.product_name,
            "quantity": row.quantity,
            "unit_price_cents": to_cents(row.unit_price),
            "total_amount_cents": to_cents(row.total_amount),
        },
        "hub_id": row.hub_id,
        "order_date": row.order_date,
        "shipping_address": row.shipping_address,
        "status": "on_hold",
        "status_history": [{"status": "on_hold", "at": created_at}],
        "created_at": created_at,
        "updated_at": created_at,
    }


@dataclass
class InsertOutcome:
    stored: list[dict] = field(default_factory=list)  # the row's order is in the store
    duplicates: list[dict] = field(default_factory=list)  # order_id held by another order


@mongo.translating
def insert_orders(documents: list[dict], rerun_blocks: list[str] | None = None) -> InsertOutcome:
    """Insert ``documents`` unordered. A re-run passes the blocks its chunk covers: rows
    stored by an earlier attempt (same ``_id``) are recognised there and count as stored,
    once."""
    outcome = InsertOutcome()
    if not documents:
        return outcome
    if rerun_blocks:
        wanted = {d["_id"] for d in documents}
        mine = {
            doc["_id"]: doc
            for block in rerun_blocks
            for doc in orders().find({"block": block})
            if doc["_id"] in wanted
        }
        outcome.stored.extend(mine.values())
        documents = [d for d in documents if d["_id"] not in mine]
    failed = insert_unordered(orders(), documents)
    for position, doc in enumerate(documents):
        (outcome.duplicates if position in failed else outcome.stored).append(doc)
    outcome.stored.sort(key=lambda doc: doc["row_number"])
    return outcome


def insert_unordered(collection: Collection, documents: list[dict]) -> set[int]:
    """Insert ``documents`` unordered; the positions of those refused for a duplicate key
    (any other error is raised)."""
    if not documents:
        return set()
    try:
        collection.insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        details = exc.details
        if details.get("writeConcernErrors") or any(
            e.get("code") != DUPLICATE_KEY for e in details.get("writeErrors", [])
        ):
            raise
        return {e["index"] for e in details["writeErrors"]}
    return set()
