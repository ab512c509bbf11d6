"""``GET /stats``: uploads by status, rows by outcome, orders by status and hub.

Read from one counters document (``oms.stats_counters``): one lookup, however many uploads
exist, and at most once per ``OMS_STATS_MAX_AGE`` seconds in each process: under 8
clients asking as fast as they can, the lookup (about 3.5 ms of the 2-core machine's CPU
through FerretDB and PostgreSQL) made /stats wait on CPU (p99 62 ms); the counters are
a dashboard's, a second old at most is as good.

``reconcile`` (a beat task) copies the finalizer's exact counts (its checkpoints) to the
uploads and recounts the document from the uploads, so a delta lost to a crash does not
stay lost.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from oms import stats_counters
from oms.config import get_settings
from oms.orders import counts as order_counts
from oms.stores import mongo
from oms.uploads import repository as repo
from oms.uploads.status import UploadStatus

RECONCILE_ATTEMPTS = 5


_copy_lock = threading.Lock()
_copy: tuple[float, str, dict[str, Any]] | None = None  # (read at, database, stats)


def current_stats() -> dict[str, Any]:
    """The counters, read again when the process's copy is older than the max age."""
    global _copy
    settings = get_settings()
    now = time.monotonic()
    with _copy_lock:
        copy = _copy
    if copy and copy[1] == settings.mongo_db and now - copy[0] < settings.stats_max_age_s:
        return copy[2]
    stats = _read()
    with _copy_lock:
        _copy = (now, settings.mongo_db, stats)
    return stats


@mongo.translating
def _read() -> dict[str, Any]:
    doc = stats_counters.counters_collection().find_one({"_id": stats_counters.STATS_ID})
    return _present((doc or {}).get("c") or {})


def _present(c: Mapping[str, Any]) -> dict[str, Any]:
    uploads = {str(s): int((c.get("uploads") or {}).get(s, 0)) for s in UploadStatus}
    orders = c.get("orders") or {}
    by_status = Counter(dict.fromkeys(order_counts.STATUSES, 0))
    by_status.update(orders.get("by_status") or {})
    return {
        "orders": {
            "total": int(orders.get("total", 0)),
            "by_status": {s: by_status[s] for s in order_counts.STATUSES},
            "by_hub": {
                stats_counters.unsafe(hub): n for hub, n in (orders.get("by_hub") or {}).items()
            },
        },
        "uploads": {"total": sum(uploads.values()), "by_status": uploads},
        "rows": {name: int((c.get("rows") or {}).get(name, 0)) for name in repo.EMPTY_COUNTS},
    }


def _recount() -> dict[str, Any]:
    """The counters as the uploads' own counters say (one pass over the uploads)."""
    uploads: Counter[str] = Counter()
    rows: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    by_hub: Counter[str] = Counter()
    total = 0
    for upload in repo.uploads().find({}, {"status": 1, "order_counts": 1, "counts": 1}):
        uploads[upload["status"]] += 1
        rows.update(upload.get("counts") or {})
        orders = upload.get("order_counts") or {}
        total += orders.get("total", 0)
        by_status.update(orders.get("by_status") or {})
        by_status.update(orders.get("finalized") or {})
        by_hub.update(orders.get("by_hub") or {})
    return {
        "uploads": dict(uploads),
        "rows": dict(rows),
        "orders": {"total": total, "by_status": dict(by_status), "by_hub": dict(by_hub)},
    }


@mongo.translating
def reconcile() -> bool:
    """Rewrite the counters from the uploads unless they change meanwhile (then try
    again, a few times); True if they were rewritten."""
    _copy_finalized_counts()
    collection = stats_counters.counters_collection()
    for _ in range(RECONCILE_ATTEMPTS):
        doc = collection.find_one({"_id": stats_counters.STATS_ID})
        recounted = _recount()
        if doc is None:
            try:
                collection.insert_one({"_id": stats_counters.STATS_ID, "_v": 0, "c": recounted})
                return True
            except mongo.DuplicateKeyError:
                continue
        done = mongo.update_one(
            collection,
            {"_id": stats_counters.STATS_ID, "_v": doc["_v"]},
            {"$set": {"c": recounted}},
        )
        if done.modified_count:
            return True
    return False


def _copy_finalized_counts() -> None:
    """Each upload's finalized counts as the finalizer's checkpoints have them."""
    for upload_id, exact in order_counts.finalized_by_upload().items():
        for _ in range(RECONCILE_ATTEMPTS):
            upload = repo.uploads().find_one({"_id": upload_id})
            if upload is None:
                break
            current = (upload.get("order_counts") or {}).get("finalized") or {}
            if {k: v for k, v in current.items() if v} == {k: v for k, v in exact.items() if v}:
                break
            done = mongo.update_one(
                repo.uploads(),
                {"_id": upload_id, "_v": upload["_v"]},
                {"$set": {"order_counts.finalized": exact}},
            )
            if done.modified_count:
                break
