"""Undoing an upload: ``POST /uploads/<id>/undo`` cancels every order it stored.

Each order is cancelled through the status workflow (``oms.orders.commands``), so its
reservation is given back at IMS, an ``order.updated`` event is sent and the counts
follow; an order that can no longer be cancelled (fulfilled) is kept and counted as
such. The task walks the upload's listing blocks in order (each one indexed equality
query, at most ``BLOCK_ROWS`` orders) and records after each block how far it got, in
the same update that adds the block's figures, so a re-run (a redelivered task, a
retry, the reaper) goes on from there and counts each block once. ``undo`` on the
upload document is the progress the API, the page and the CLI show.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from oms.errors import Conflict, Unavailable
from oms.orders.commands import change_status
from oms.orders.status import OrderStatus
from oms.orders.store import BLOCK_ROWS, orders
from oms.orders.workflow import TransitionRefused
from oms.stores import mongo
from oms.uploads import repository as repo
from oms.uploads.status import UploadStatus

log = logging.getLogger(__name__)

UNDOABLE = (UploadStatus.COMPLETED, UploadStatus.CANCELLED, UploadStatus.FAILED)
ACTOR = "undo"
ATTEMPTS = 5


class UndoState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # given up after retries; asking again goes on from where it was


@mongo.translating
def request_undo(upload_id: str) -> tuple[dict[str, Any], bool]:
    """Mark the upload to be undone; returns (upload, whether the undo task must be
    sent). Asking again while it runs, or after it is done, changes nothing."""
    upload = repo.get_upload(upload_id)
    status = UploadStatus(upload["status"])
    if upload.get("check_only"):
        raise Conflict("not_undoable", f"upload {upload_id} is a check: it stored no order to undo")
    if status not in UNDOABLE:
        raise Conflict(
            "not_undoable",
            f"upload {upload_id} is {status}: "
            + (
                "it stored nothing"
                if status == UploadStatus.REJECTED
                else f"stop it first (POST /uploads/{upload_id}/cancel), then undo it "
                "once it is cancelled"
            ),
        )
    for _ in range(ATTEMPTS):
        undo = upload.get("undo") or {}
        if undo.get("status") in (UndoState.RUNNING, UndoState.DONE):
            return upload, False
        stamp = repo.now()
        fresh = {
            "status": str(UndoState.RUNNING),
            "requested_at": stamp,
            "updated_at": stamp,
            "blocks_total": -(-int(upload.get("rows_total") or 0) // BLOCK_ROWS),
            "blocks_done": undo.get("blocks_done", 0),  # a failed undo goes on from there
            "cancelled": undo.get("cancelled", 0),
            "kept": undo.get("kept", 0),
            "error": None,
        }
        asked = mongo.update_one(
            repo.uploads(),
            {"_id": upload_id, "_v": upload["_v"]},
            {"$set": {"undo": fresh, "undoing": True, "updated_at": stamp}},
        )
        if asked.modified_count:
            return repo.get_upload(upload_id), True
        upload = repo.get_upload(upload_id)  # it changed meanwhile: look again
    raise Unavailable(f"upload {upload_id} kept changing; try again")


@mongo.translating
def run_undo(upload_id: str) -> dict[str, Any]:
    """Cancel the upload's orders block by block from where an earlier run stopped;
    returns the final progress."""
    upload = repo.get_upload(upload_id)
    undo = upload.get("undo") or {}
    if undo.get("status") != UndoState.RUNNING:
        return undo
    reason = f"upload {upload_id} undone"
    for block in range(int(undo["blocks_done"]), int(undo["blocks_total"])):
        cancelled, kept = _undo_block(upload_id, block, reason)
        # Counted once: only the run that moves blocks_done from this block adds.
        mongo.update_one(
            repo.uploads(),
            {"_id": upload_id, "undo.blocks_done": block},  # checked on the one document
            {
                "$set": {"undo.blocks_done": block + 1, "undo.updated_at": repo.now()},
                "$inc": {"undo.cancelled": cancelled, "undo.kept": kept},
            },
        )
    mongo.update_one(
        repo.uploads(),
        {"_id": upload_id},
        {
            "$set": {"undo.status": str(UndoState.DONE), "undo.finished_at": repo.now()},
            "$unset": {"undoing": ""},
        },
    )
    log.info("upload %s undone", upload_id, extra={"upload_id": upload_id})
    return repo.get_upload(upload_id)["undo"]


def _undo_block(upload_id: str, block: int, reason: str) -> tuple[int, int]:
    """Cancel the orders of one listing block; returns (cancelled, kept): the block's
    orders that are cancelled now (by this run or an earlier one) and those that could
    not be (fulfilled), so a re-run of a block gives the same figures."""
    cancelled = kept = 0
    for order in orders().find({"block": f"{upload_id}:{block}"}, {"order_id": 1, "status": 1}):
        status = OrderStatus(order["status"])
        if status != OrderStatus.CANCELLED:
            try:
                change_status(order["order_id"], OrderStatus.CANCELLED, reason=reason, actor=ACTOR)
            except TransitionRefused:
                kept += 1
                continue
        cancelled += 1
    return cancelled, kept


@mongo.translating
def give_up(upload_id: str, error: str) -> None:
    """The undo could not go on after its retries: say so; asking again resumes it."""
    mongo.update_one(
        repo.uploads(),
        {"_id": upload_id, "undo.status": str(UndoState.RUNNING)},
        {
            "$set": {"undo.status": str(UndoState.FAILED), "undo.error": error[:2000]},
            "$unset": {"undoing": ""},
        },
    )
