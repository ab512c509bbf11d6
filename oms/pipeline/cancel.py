"""Stopping an upload: ``POST /uploads/<id>/cancel``.

A cancel stops the chunks not yet run; what is stored stays, and is counted. The upload
records ``cancel_requested`` (one conditional update), which every later step reads:
``oms.pipeline.schedule`` sends no further chunk and moves those still to send into
``cancelled_chunks``; a chunk already in the queue marks itself cancelled when it starts
(``oms.pipeline.chunk``); chunks running finish and count. When the last of those ends,
the finalization joins the invalid rows of the chunks that ran and closes the upload as
``cancelled``. An upload that was not split yet (``queued``) or that failed has nothing
running, so it is closed at once. Cancelling twice is the same as once.
"""

from __future__ import annotations

import logging

from oms.errors import Conflict, Unavailable
from oms.orders import checks
from oms.pipeline import schedule
from oms.uploads import repository as repo
from oms.uploads.status import UploadStatus

log = logging.getLogger(__name__)

ATTEMPTS = 5  # re-reads after the upload moved under the cancel
RUNNING = (UploadStatus.SPLITTING, UploadStatus.PROCESSING)
NOTHING_RUNNING = (UploadStatus.QUEUED, UploadStatus.FAILED)


def cancel_upload(upload_id: str) -> dict:
    """Stop the upload; returns its document. Raises Conflict (``not_cancellable``) for
    an upload that has nothing left to stop, saying what applies instead."""
    for _ in range(ATTEMPTS):
        upload = repo.get_upload(upload_id)
        status = UploadStatus(upload["status"])
        if status == UploadStatus.CANCELLED or (
            upload.get("cancel_requested") and status in (*RUNNING, UploadStatus.FINALIZING)
        ):
            return upload  # asked already: it stops, or has stopped
        if status in NOTHING_RUNNING:
            stamp = repo.now()
            closed = repo.transition(
                upload_id,
                UploadStatus.CANCELLED,
                cancel_requested=True,
                cancel_requested_at=stamp,
                **{"timings.finished_at": stamp},
            )
            if closed is not None:
                if upload.get("check_only"):
                    checks.forget(upload_id)
                log.info("upload %s cancelled while %s", upload_id, status)
                return repo.get_upload(upload_id)
        elif status in RUNNING:
            if repo.request_cancel(upload_id, RUNNING):
                log.info("upload %s: cancel asked while %s", upload_id, status)
                schedule.stop(upload_id)
                return repo.get_upload(upload_id)
        else:
            raise Conflict("not_cancellable", _why_not(upload_id, status))
    raise Unavailable(f"upload {upload_id} kept changing; try again")


def _why_not(upload_id: str, status: UploadStatus) -> str:
    if status == UploadStatus.COMPLETED:
        return (
            f"upload {upload_id} is completed: nothing is left to stop; to cancel the "
            f"orders it stored, undo it (POST /uploads/{upload_id}/undo)"
        )
    if status == UploadStatus.FINALIZING:
        return (
            f"upload {upload_id} is finalizing: every chunk has run; to cancel the orders "
            f"it stored, undo it once it is completed (POST /uploads/{upload_id}/undo)"
        )
    return f"upload {upload_id} was {status}: it stored nothing, so there is nothing to stop"
