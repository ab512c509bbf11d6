"""Storing validated rows as orders, telling a re-run's own rows from real duplicates.

Each order's ``_id`` is its source position, ``<upload_id>:<row_number>``, and ``order_id``
has a unique index. A chunk's first attempt needs no read at all: any duplicate-key
failure is a real duplicate (its ``_id`` is new, so its order_id is held elsewhere). A
re-run first reads which of its row ids are stored, counts those as its own, and inserts
only the rest. The pipeline never updates an order document: FerretDB 1.24, the local
MongoDB, scans a whole collection for every filtered read or update (measured: 80 ms per
updated document, 2-12 s per query at 100k orders), so per-order writes after the insert
would make ingestion crawl. Event delivery state lives on the chunk (see outbox.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pymongo.errors import BulkWriteError

from oms.orders.money import to_cents
from oms.stores import mongo

DUPLICATE_KEY = 11000


def orders():
    return mongo.db()["orders"]


def row_key(upload_id: str, line: int) -> str:
    return f"{upload_id}:{line}"


def order_document(row, upload_id: str, created_at: datetime) -> dict:
    """The stored form of a valid row: status on_hold, money in exact cents."""
    return {
        "_id": row_key(upload_id, row.line),
        "order_id": row.order_id,
        "upload_id": upload_id,
        "row_number": row.line,
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


def insert_orders(documents: list[dict], rerun: bool) -> InsertOutcome:
    """Insert ``documents`` unordered. With ``rerun``, rows stored by an earlier attempt
    of the same chunk are recognised (same ``_id``) and count as stored, once."""
    outcome = InsertOutcome()
    if not documents:
        return outcome
    if rerun:
        mine = {doc["_id"]: doc for doc in orders().find(
            {"_id": {"$in": [d["_id"] for d in documents]}})}
        outcome.stored.extend(mine.values())
        documents = [d for d in documents if d["_id"] not in mine]
    failed: set[int] = set()
    if documents:
        try:
            orders().insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            details = exc.details
            if details.get("writeConcernErrors") or any(
                e.get("code") != DUPLICATE_KEY for e in details.get("writeErrors", [])
            ):
                raise
            failed = {e["index"] for e in details["writeErrors"]}
    for position, doc in enumerate(documents):
        (outcome.duplicates if position in failed else outcome.stored).append(doc)
    outcome.stored.sort(key=lambda doc: doc["row_number"])
    return outcome
