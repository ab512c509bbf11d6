"""How many orders are in each status: per upload, and in all. Never a scan of orders.

Three sources add up, each written exactly once per change:

- ingestion puts an upload's valid orders ``on_hold`` (``order_counts.by_status`` of the
  upload document, counted once per chunk: ``oms.uploads.repository.add_chunk_counts``);
- the finalizer's moves out of ``on_hold`` are counted in one checkpoint document per
  Kafka partition, in the same update that records how far in the partition it has
  counted, so a replayed message is never counted twice (``count_finalized``);
- every other move (cancel, fulfil, a backorder confirmed when stock arrives) adds -1/+1
  to the upload document right after the move (``add_moves``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from pymongo.collection import Collection

from oms.orders.status import OrderStatus
from oms.stores import mongo
from oms.uploads import repository as repo

STATUSES = [str(s) for s in OrderStatus]


def checkpoints() -> Collection[dict[str, Any]]:
    return mongo.db()["finalizer_checkpoints"]


@mongo.translating
def count_finalized(
    topic: str,
    partition: int,
    first_offset: int,
    next_offset: int,
    finalized_at: Mapping[int, tuple[str, OrderStatus]],
) -> int:
    """Count the finalizations of messages ``[first_offset, next_offset)`` of one
    partition (``finalized_at``: offset -> (upload_id, status)) unless they were counted
    before; move the partition's checkpoint to ``next_offset``. Returns how many were
    counted now."""
    key = f"{topic}:{partition}"
    while True:
        doc = checkpoints().find_one({"_id": key}) or {"offset": 0}
        counted_to = int(doc["offset"])
        if counted_to >= next_offset:
            return 0  # all counted before (a replay)
        fresh = [v for offset, v in finalized_at.items() if offset >= counted_to]
        inc: Counter[str] = Counter()
        for upload_id, status in fresh:
            inc[f"uploads.{upload_id}.{status}"] += 1
            inc[f"uploads.{upload_id}.{OrderStatus.ON_HOLD}"] -= 1
            inc[f"totals.{status}"] += 1
            inc[f"totals.{OrderStatus.ON_HOLD}"] -= 1
        update: dict[str, Any] = {"$set": {"offset": next_offset}}
        if inc:
            update["$inc"] = dict(inc)
        if "_id" not in doc:
            try:
                checkpoints().insert_one(
                    {"_id": key, "_v": 0, "offset": 0, "uploads": {}, "totals": {}}
                )
            except mongo.DuplicateKeyError:
                pass
            continue
        moved = mongo.update_one(checkpoints(), {"_id": key, "offset": counted_to}, update)
        if moved.modified_count:
            return len(fresh)
        # Another finalizer (the partition moved in a rebalance) counted meanwhile.


@mongo.translating
def add_moves(moves: Iterable[tuple[str, OrderStatus, OrderStatus]]) -> None:
    """Count moves other than the finalizer's: (upload_id, from, to) each."""
    by_upload: dict[str, Counter[str]] = {}
    for upload_id, source, target in moves:
        inc = by_upload.setdefault(upload_id, Counter())
        inc[f"order_counts.by_status.{source}"] -= 1
        inc[f"order_counts.by_status.{target}"] += 1
    for upload_id, inc in by_upload.items():
        mongo.update_one(repo.uploads(), {"_id": upload_id}, {"$inc": dict(inc)})


@mongo.translating
def for_upload(upload: Mapping[str, Any]) -> dict[str, int]:
    """Orders of ``upload`` by status."""
    counts = Counter(dict.fromkeys(STATUSES, 0))
    counts.update((upload.get("order_counts") or {}).get("by_status") or {})
    for doc in checkpoints().find({}):
        counts.update((doc.get("uploads") or {}).get(upload["_id"]) or {})
    return {status: counts[status] for status in STATUSES}


@mongo.translating
def finalizer_totals() -> dict[str, int]:
    """The finalizer's moves in all uploads, as deltas by status."""
    totals: Counter[str] = Counter()
    for doc in checkpoints().find({}):
        totals.update(doc.get("totals") or {})
    return dict(totals)
