"""The reaper (a beat task): no upload stays unfinished without anyone working on it.

An upload that is queued, splitting, processing or finalizing and has not moved for
``OMS_STALL_AFTER`` seconds lost its messages somewhere (an enqueue that failed, a
worker host that died while the broker forgot, a write that failed after its last
retry). The reaper sends its work again, idempotently: the split again, the chunks that
are neither done nor failed, or the finalization. After ``OMS_MAX_REDRIVES`` re-drives it
marks the upload failed with the reason instead, so an operator's ``retry`` applies.
An undo (``oms.orders.undo``) that has not moved on for as long is sent again too.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from oms import dispatch
from oms.config import get_settings
from oms.pipeline import schedule
from oms.stores import mongo
from oms.uploads import repository as repo
from oms.uploads.status import ChunkStatus, UploadStatus

log = logging.getLogger(__name__)

WORKING = (
    UploadStatus.QUEUED,
    UploadStatus.SPLITTING,
    UploadStatus.PROCESSING,
    UploadStatus.FINALIZING,
)


@mongo.translating
def reap() -> dict[str, int]:
    """Look at every unfinished upload once; returns how many were re-driven or failed."""
    settings = get_settings()
    stalled_before = repo.now() - timedelta(seconds=settings.stall_after_s)
    outcome = {"redriven": 0, "failed": 0}
    for status in WORKING:
        # status is an equality lookup; unfinished uploads are few
        for upload in repo.uploads().find({"status": str(status)}):
            moved = upload.get("updated_at") or upload["created_at"]
            if moved > stalled_before and not upload.get("enqueue_failed"):
                continue
            if upload.get("redrives", 0) >= settings.max_redrives:
                if _fail(upload, settings.stall_after_s):
                    outcome["failed"] += 1
            elif _redrive(upload):
                outcome["redriven"] += 1
    for upload in repo.uploads().find({"undoing": True}):  # an equality lookup; few
        if _redrive_undo(upload, stalled_before):
            outcome["redriven"] += 1
    return outcome


def _redrive_undo(upload: dict[str, Any], stalled_before: datetime) -> bool:
    """An undo that has not moved on for a while lost its task: send it again (it goes
    on from the last block it recorded)."""
    undo = upload.get("undo") or {}
    if undo.get("updated_at", upload["created_at"]) > stalled_before:
        return False
    claimed = mongo.update_one(
        repo.uploads(),
        {"_id": upload["_id"], "_v": upload["_v"]},
        {"$set": {"undo.updated_at": repo.now()}},
    )
    if not claimed.modified_count:
        return False
    log.warning("upload %s: its undo has not moved on: sending it again", upload["_id"])
    dispatch.start_undo(upload["_id"])
    return True


def _redrive(upload: dict[str, Any]) -> bool:
    upload_id, status = upload["_id"], UploadStatus(upload["status"])
    claimed = mongo.update_one(
        repo.uploads(),
        {"_id": upload_id, "_v": upload["_v"]},
        {
            "$inc": {"redrives": 1},
            "$set": {"updated_at": repo.now()},
            "$unset": {"enqueue_failed": ""},
        },
    )
    if not claimed.modified_count:
        return False  # it moved meanwhile (or another reaper took it)
    log.warning(
        "upload %s is %s without progress: sending its work again",
        upload_id,
        status,
        extra={"upload_id": upload_id},
    )
    if status in (UploadStatus.QUEUED, UploadStatus.SPLITTING):
        dispatch.start_split(upload_id)
    elif status == UploadStatus.PROCESSING:
        unfinished = [
            c["index"]
            for c in repo.list_chunks(upload_id)
            if c["status"] not in (ChunkStatus.DONE, ChunkStatus.FAILED)
        ]
        schedule.start(upload_id, add=unfinished)
    else:
        dispatch.start_finalize(upload_id)
    return True


def _fail(upload: dict[str, Any], stall_after_s: int) -> bool:
    error = (
        f"no progress while {upload['status']} for {stall_after_s} s, "
        f"{upload.get('redrives', 0)} times; retry it"
    )
    failed = repo.transition(upload["_id"], UploadStatus.FAILED, error_code="stalled", error=error)
    if failed is not None:
        log.error("upload %s: %s", upload["_id"], error, extra={"upload_id": upload["_id"]})
    return failed is not None
