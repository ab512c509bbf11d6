"""Storing validated rows as orders, telling a re-run's own rows from real duplicates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from pymongo.errors import BulkWriteError

from oms.orders.money import to_cents
from oms.stores import mongo

DUPLICATE_KEY = 11000


def orders():
    return mongo.db()["orders"]


def order_document(row, upload_id: str, created_at: datetime) -> dict:
    """The stored form of a valid row: status on_hold, money in exact cents, event pending."""
    return {
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
        "outbox_pending": True,  # cleared once Kafka confirms order.created
    }


@dataclass
class InsertOutcome:
    stored: list[dict] = field(default_factory=list)  # this row's order is in the store
    duplicates: list[tuple[dict, dict]] = field(default_factory=list)  # (ours, existing)


def insert_orders(documents: list[dict]) -> InsertOutcome:
    """Insert all documents unordered; classify each duplicate-key failure.

    A document whose order_id is already stored from the same upload and row is this
    chunk's own earlier insert (the task ran before): it counts as stored. Any other
    holder of the order_id makes the row a duplicate. Errors other than duplicate key
    are raised.
    """
    outcome = InsertOutcome()
    if not documents:
        return outcome
    failed: set[int] = set()
    try:
        orders().insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        details = exc.details
        others = [e for e in details.get("writeErrors", []) if e.get("code") != DUPLICATE_KEY]
        if others or details.get("writeConcernErrors"):
            raise
        failed = {e["index"] for e in details["writeErrors"]}
    for position, doc in enumerate(documents):
        if position not in failed:
            doc.pop("_id", None)
            outcome.stored.append(doc)
    if failed:
        wanted = [documents[i] for i in sorted(failed)]
        holders = {
            held["order_id"]: held
            for held in orders().find(
                {"order_id": {"$in": [d["order_id"] for d in wanted]}},
                {"_id": 0, "order_id": 1, "upload_id": 1, "row_number": 1},
            )
        }
        for doc in wanted:
            holder = holders.get(doc["order_id"])
            if holder is None:
                raise RuntimeError(f"order {doc['order_id']} reported duplicate but not found")
            if (holder["upload_id"], holder["row_number"]) == (doc["upload_id"],
                                                                doc["row_number"]):
                outcome.stored.append(doc)
            else:
                outcome.duplicates.append((doc, holder))
    return outcome


def pending_events(upload_id: str, lines: Iterable[int]) -> list[dict]:
    """Orders of these rows whose order.created is not yet confirmed by Kafka."""
    return list(orders().find(
        {"upload_id": upload_id, "row_number": {"$in": list(lines)}, "outbox_pending": True},
        {"_id": 0},
    ))


def mark_published(order_ids: Iterable[str], at: datetime) -> int:
    ids = list(order_ids)
    if not ids:
        return 0
    result = orders().update_many({"order_id": {"$in": ids}, "outbox_pending": True},
                                  {"$set": {"outbox_pending": False, "published_at": at}})
    return result.modified_count
