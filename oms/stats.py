"""Order and upload counts for /stats, read from per-upload counters (never all orders)."""

from __future__ import annotations

from collections import Counter

from oms.orders import counts as order_counts
from oms.stores import mongo
from oms.uploads import repository as repo
from oms.uploads.status import UploadStatus


@mongo.translating
def current_stats() -> dict:
    """Orders: total, by status, by hub; uploads: by status. Reads one small document per
    upload; each upload's order counters are kept current as its chunks finish."""
    total = 0
    by_status: Counter[str] = Counter()
    by_hub: Counter[str] = Counter()
    uploads_by_status: Counter[str] = Counter({str(s): 0 for s in UploadStatus})
    rows: Counter[str] = Counter()
    for upload in repo.uploads().find({}, {"status": 1, "order_counts": 1, "counts": 1}):
        uploads_by_status[upload["status"]] += 1
        counts = upload.get("order_counts") or {}
        total += counts.get("total", 0)
        by_status.update(counts.get("by_status", {}))
        by_hub.update(
            {
                hub.replace("\uff0e", ".").replace("\uff04", "$"): n
                for hub, n in counts.get("by_hub", {}).items()
            }
        )
        rows.update(upload.get("counts") or {})
    by_status.update(order_counts.finalizer_totals())
    statuses = {status: by_status.get(status, 0) for status in order_counts.STATUSES}
    return {
        "orders": {"total": total, "by_status": statuses, "by_hub": dict(by_hub)},
        "uploads": {"total": sum(uploads_by_status.values()), "by_status": dict(uploads_by_status)},
        "rows": {name: rows.get(name, 0) for name in repo.EMPTY_COUNTS},
    }
