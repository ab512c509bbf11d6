"""Which chunks of an upload are in the queue: at most ``OMS_CHUNKS_IN_FLIGHT`` at a time.

One SQS queue serves every upload first come, first served, so an upload that put all
its chunks in at once would hold every later upload behind them (200 tasks of
``?chunk_rows=1`` held others for 106 s). Instead an upload keeps the chunks still to
send in ``to_send`` (its document); ``start`` sends the first few, and every chunk that
ends (done or failed) sends the next (``chunk_ended``). A large upload's chunk 0 is sent
by the split itself, before the rest of the file is split
(``oms.pipeline.split.send_first_chunk``): one more in flight for the moment, and a
first order seconds sooner. The chunks of different uploads thus interleave in the
queue. Taking a chunk off ``to_send`` is a versioned update of the upload, so two
processes never send the same chunk for one claim; the chunk that leaves nothing to send
or running sends the finalization (twice at worst, which finalize_upload allows).

Cancelling an upload (``oms.pipeline.cancel``) empties ``to_send`` into
``cancelled_chunks`` in the same versioned way, so no chunk is sent after it; the chunks
already sent either ran (and are counted) or find the cancel when they start.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from oms import dispatch
from oms.config import get_settings
from oms.errors import Unavailable
from oms.stores import mongo
from oms.uploads import repository as repo
from oms.uploads.status import UploadStatus

log = logging.getLogger(__name__)

CLAIM_ATTEMPTS = 50


@mongo.translating
def start(upload_id: str, add: Iterable[int] = ()) -> int:
    """Put ``add`` (chunk indexes) on the upload's list to send, then fill its window.
    Returns how many chunks were sent."""
    indexes = sorted(set(add))
    if indexes:
        mongo.update_one(
            repo.uploads(),
            {"_id": upload_id},
            {"$addToSet": {"to_send": {"$each": indexes}}, "$set": {"updated_at": repo.now()}},
        )
    sent = 0
    for _ in range(get_settings().chunks_in_flight):
        if not _send_next(upload_id):
            break
        sent += 1
    if not sent:
        _finalize_if_settled(upload_id)
    return sent


@mongo.translating
def chunk_ended(upload_id: str) -> None:
    """A chunk is done or failed: send the next one, or the finalization after the last."""
    if not _send_next(upload_id):
        _finalize_if_settled(upload_id)


def _send_next(upload_id: str) -> bool:
    claimed = _claim(upload_id)
    if claimed is None:
        return False
    index, upload = claimed
    dispatch.send_chunk(upload_id, index, express=is_small(upload))
    return True


def is_small(upload: dict) -> bool:
    """A small upload's chunks take the express queue (oms/queues.py)."""
    return int(upload.get("rows_total") or 0) <= get_settings().express_rows


def _claim(upload_id: str) -> tuple[int, dict] | None:
    """Take the first chunk off ``to_send`` (None when it is empty), with the upload.
    When the upload's cancel was asked for, every chunk still to send is cancelled
    instead, and none is taken."""
    for _ in range(CLAIM_ATTEMPTS):
        upload = repo.get_upload(upload_id)
        waiting = upload.get("to_send") or []
        if not waiting:
            return None
        if upload.get("cancel_requested"):
            _cancel_waiting(upload)
            continue
        taken = mongo.update_one(
            repo.uploads(),
            {"_id": upload_id, "_v": upload["_v"]},
            {"$pop": {"to_send": -1}, "$set": {"updated_at": repo.now()}},
        )
        if taken.modified_count:
            return int(waiting[0]), upload
    raise Unavailable(f"upload {upload_id}: could not take a chunk to send; try again")


def _cancel_waiting(upload: dict) -> None:
    """Move the chunks still to send to ``cancelled_chunks`` (one versioned update: a
    claim racing it sees the change and reads again)."""
    mongo.update_one(
        repo.uploads(),
        {"_id": upload["_id"], "_v": upload["_v"]},
        {
            "$set": {"to_send": [], "updated_at": repo.now()},
            "$addToSet": {"cancelled_chunks": {"$each": list(upload.get("to_send") or [])}},
        },
    )


@mongo.translating
def stop(upload_id: str) -> None:
    """The upload's cancel was just asked for: cancel what is still to send, and
    finalize at once when no chunk is running."""
    for _ in range(CLAIM_ATTEMPTS):
        upload = repo.get_upload(upload_id)
        if not upload.get("to_send"):
            break
        _cancel_waiting(upload)
    _finalize_if_settled(upload_id)


def _finalize_if_settled(upload_id: str) -> None:
    upload = repo.get_upload(upload_id)
    if upload["status"] != UploadStatus.PROCESSING:
        return  # still splitting (the split starts the chunks), or finalized already
    # A chunk that failed and was then done by a redelivered message is in two lists.
    ended = len(
        set(upload.get("counted_chunks") or [])
        | set(upload.get("failed_chunks") or [])
        | set(upload.get("cancelled_chunks") or [])
    )
    if not upload.get("to_send") and ended >= upload.get("chunks_total", 0):
        dispatch.start_finalize(upload_id)
