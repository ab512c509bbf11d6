"""Check-only uploads: what storing a chunk's valid rows would do, without storing them.

A checked row is a duplicate exactly when storing it would have been refused: its
order_id is held by a stored order, or by an earlier row of the same file. The second is
found by claiming each order_id for the check (``checked_orders``, keyed by check and
order_id, so the primary key decides, on both stores); a chunk run again finds its own
claims by row number and counts them once, as ``store.insert_orders`` does. The claims
are dropped when the check completes (``forget``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pymongo.collection import Collection

from oms.orders.store import InsertOutcome, insert_unordered, orders
from oms.stores import mongo

LOOKUP_THREADS = 8  # order_id lookups in flight (each ~1 ms on the local store)


def checked_orders() -> Collection[dict[str, Any]]:
    return mongo.db()["checked_orders"]


@mongo.translating
def check_orders(upload_id: str, documents: list[dict]) -> InsertOutcome:
    """Split ``documents`` into those that would be stored and the duplicates."""
    outcome = InsertOutcome()
    if not documents:
        return outcome
    with ThreadPoolExecutor(LOOKUP_THREADS) as pool:
        held = list(pool.map(_stored, [doc["order_id"] for doc in documents]))
    fresh = [doc for doc, taken in zip(documents, held, strict=True) if not taken]
    outcome.duplicates.extend(doc for doc, taken in zip(documents, held, strict=True) if taken)
    claims = [
        {"_id": f"{upload_id}|{doc['order_id']}", "upload_id": upload_id, "row": doc["row_number"]}
        for doc in fresh
    ]
    refused = insert_unordered(checked_orders(), claims)
    for position, doc in enumerate(fresh):
        if position in refused:
            holder = checked_orders().find_one({"_id": claims[position]["_id"]})
            if holder is None or holder["row"] != doc["row_number"]:
                outcome.duplicates.append(doc)
                continue
        outcome.stored.append(doc)
    outcome.stored.sort(key=lambda doc: doc["row_number"])
    return outcome


def _stored(order_id: str) -> bool:
    return orders().find_one({"order_id": order_id}, {"_id": 1}) is not None


@mongo.translating
def forget(upload_id: str) -> None:
    checked_orders().delete_many({"upload_id": upload_id})
