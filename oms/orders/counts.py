"""How many orders are in each status: per upload, and in all. Never a scan of orders.

Three sources add up, each written exactly once per change:

- ingestion puts an upload's valid orders ``on_hold`` (``order_counts.by_status`` of the
  upload document, counted once per chunk: ``oms.uploads.repository.add_chunk_counts``);
- the finalizer's moves out of ``on_hold`` are counted in one checkpoint document per
  Kafka partition, in the same update that records how far in the partition it has
  counted, so a replayed message is never counted twice (``count_finalized``); then
  copied to the uploads' ``order_counts.finalized`` and to /stats (a crash between
  leaves those short until ``oms.stats.reconcile`` copies them again from the
  checkpoints, which are exact: a finalizer does it whenever it is given partitions,
  so the one that replaces a crashed one repairs what the crash left, and the beat
  does it every few minutes);
- every other move (cancel, fulfil, a backorder confirmed when stock arrives) adds -1/+1
  to the upload document right after the move (``add_moves``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from pymongo.collection import Collection

from oms import crash_points, stats_counters
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
        update: dict[str, Any] = {"$set": {"offset": next_offset}}
        if inc:
            update["$inc"] = dict(inc)
        if "_id" not in doc:
            try:
                checkpoints().insert_one({"_id": key, "_v": 0, "offset": 0, "uploads": {}})
            except mongo.DuplicateKeyError:
                pass
            continue
        moved = mongo.update_one(checkpoints(), {"_id": key, "offset": counted_to}, update)
        if moved.modified_count:
            crash_points.reached("finalizer.after_checkpoint")
            _copy_finalized(fresh)
            return len(fresh)
        # Another finalizer (the partition moved in a rebalance) counted meanwhile.


def _copy_finalized(fresh: list[tuple[str, OrderStatus]]) -> None:
    by_upload: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    for upload_id, status in fresh:
        inc = by_upload.setdefault(upload_id, Counter())
        for name, amount in ((str(status), 1), (str(OrderStatus.ON_HOLD), -1)):
            inc[f"order_counts.finalized.{name}"] += amount
            totals[f"orders.by_status.{name}"] += amount
    for upload_id, inc in by_upload.items():
        mongo.update_one(repo.uploads(), {"_id": upload_id}, {"$inc": dict(inc)})
    stats_counters.add(totals)


@mongo.translating
def add_moves(moves: Iterable[tuple[str, OrderStatus, OrderStatus]]) -> None:
    """Count moves other than the finalizer's: (upload_id, from, to) each."""
    by_upload: dict[str, Counter[str]] = {}
    for upload_id, source, target in moves:
        inc = by_upload.setdefault(upload_id, Counter())
        inc[f"order_counts.by_status.{source}"] -= 1
        inc[f"order_counts.by_status.{target}"] += 1
    totals: Counter[str] = Counter()
    for upload_id, inc in by_upload.items():
        mongo.update_one(repo.uploads(), {"_id": upload_id}, {"$inc": dict(inc)})
        totals.update({key.replace("order_counts.", "orders.", 1): n for key, n in inc.items()})
    stats_counters.add(totals)


def for_upload(upload: Mapping[str, Any]) -> dict[str, int]:
    """Orders of ``upload`` by status (from the upload document alone)."""
    counts = Counter(dict.fromkeys(STATUSES, 0))
    order_counts = upload.get("order_counts") or {}
    counts.update(order_counts.get("by_status") or {})
    counts.update(order_counts.get("finalized") or {})
    return {status: counts[status] for status in STATUSES}


@mongo.translating
def finalized_by_upload() -> dict[str, dict[str, int]]:
    """The finalizer's moves per upload, as the checkpoints count them (exactly)."""
    found: dict[str, Counter[str]] = {}
    for doc in checkpoints().find({}):
        for upload_id, moves in (doc.get("uploads") or {}).items():
            found.setdefault(upload_id, Counter()).update(moves)
    return {upload_id: dict(moves) for upload_id, moves in found.items()}
