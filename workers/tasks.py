"""The pipeline's Celery tasks: thin wrappers that take ids and call oms.pipeline.

Each declares its transient failures and retries them by the one policy of
``workers.retry``. A chunk that still fails is recorded as failed and the next chunk is
sent anyway (``oms.pipeline.schedule``), so the upload ends; a split or a finalization
that still fails marks the upload failed with the reason, so an operator's ``retry``
applies. Nothing is retried forever.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from oms import crash_points, stats
from oms.errors import NotFound
from oms.orders import backorders, commands, undo
from oms.pipeline import chunk, finalize, reaper, schedule, split
from oms.uploads import repository as repo
from oms.uploads.status import UploadStatus
from workers.retry import TRANSIENT, attempts, backoff, cap_s, may_retry

log = logging.getLogger(__name__)


@shared_task(bind=True, name="oms.ingest_upload", max_retries=None)
def ingest_upload(self: Task, upload_id: str) -> dict[str, Any]:
    try:
        result = split.split_upload(upload_id)
        if result.action == split.SplitAction.START_CHUNKS:
            crash_points.reached("split.before_start")
            schedule.start(upload_id)
            split.mark_chunks_started(upload_id)
    except TRANSIENT as exc:
        if may_retry(self):
            raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
        _give_up(
            self,
            upload_id,
            "unavailable",
            f"could not split the file after {attempts(self)} attempts: {exc}",
        )
        return {"upload_id": upload_id, "action": "failed"}
    except Exception as exc:  # a bug: record it on the upload rather than leave it hanging
        log.exception("splitting upload %s failed", upload_id, extra={"upload_id": upload_id})
        _give_up(self, upload_id, "internal_error", f"{type(exc).__name__}: {exc}")
        return {"upload_id": upload_id, "action": "failed"}
    return {"upload_id": upload_id, "action": result.action, "chunks": len(result.chunk_indexes)}


@shared_task(bind=True, name="oms.process_chunk", max_retries=None)
def process_chunk(self: Task, upload_id: str, index: int) -> dict[str, Any]:
    fields = {"upload_id": upload_id, "chunk": index}
    try:
        outcome: dict[str, Any] = chunk.process_chunk(upload_id, index)
        schedule.chunk_ended(upload_id)
        return outcome
    except TRANSIENT as exc:
        if may_retry(self):
            log.warning("chunk %s/%s: %s; retrying", upload_id, index, exc, extra=fields)
            raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
        error = f"gave up after {attempts(self)} attempts: {exc}"
    except Exception as exc:  # a bug or bad data we did not foresee: record, do not loop
        log.exception("chunk %s/%s failed", upload_id, index, extra=fields)
        error = f"{type(exc).__name__}: {exc}"
    try:
        repo.fail_chunk(upload_id, index, error[:2000])
        schedule.chunk_ended(upload_id)
    except TRANSIENT as exc:  # the failure cannot be recorded yet: try again later
        raise self.retry(exc=exc, countdown=cap_s()) from exc
    return {"failed": True, "error": error[:500]}


@shared_task(bind=True, name="oms.finalize_upload", max_retries=None)
def finalize_upload(self: Task, upload_id: str) -> dict[str, Any]:
    try:
        return finalize.finalize_upload(upload_id)
    except TRANSIENT as exc:
        if may_retry(self):
            raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
        _give_up(
            self,
            upload_id,
            "unavailable",
            f"could not finalize the upload after {attempts(self)} attempts: {exc}",
        )
        return {"upload_id": upload_id, "status": "failed"}
    except NotFound as exc:  # the file store lost what the chunks wrote (S3 lost its state)
        _give_up(self, upload_id, "storage_lost", f"could not finalize the upload: {exc}")
        return {"upload_id": upload_id, "status": "failed"}
    except Exception as exc:  # a bug: record it on the upload rather than leave it hanging
        log.exception("finalizing upload %s failed", upload_id, extra={"upload_id": upload_id})
        _give_up(self, upload_id, "internal_error", f"{type(exc).__name__}: {exc}")
        return {"upload_id": upload_id, "status": "failed"}


@shared_task(bind=True, name="oms.undo_upload", max_retries=None)
def undo_upload(self: Task, upload_id: str) -> dict[str, Any]:
    """Cancel every order of an upload; a retry goes on from the last block done."""
    try:
        return undo.run_undo(upload_id)
    except TRANSIENT as exc:
        if may_retry(self):
            raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
        error = f"gave up after {attempts(self)} attempts: {exc}; undo it again to go on"
    except Exception as exc:  # a bug: say so on the upload rather than look busy forever
        log.exception("undoing upload %s failed", upload_id, extra={"upload_id": upload_id})
        error = f"{type(exc).__name__}: {exc}"
    try:
        undo.give_up(upload_id, error)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=cap_s()) from exc
    return {"upload_id": upload_id, "undo": "failed", "error": error[:500]}


def _give_up(task: Task, upload_id: str, code: str, error: str) -> None:
    """Mark the upload failed; when the store is down too, try again later rather than
    leave the upload in its current state with nobody to move it on."""
    try:
        moved = repo.transition(upload_id, UploadStatus.FAILED, error_code=code, error=error[:2000])
    except TRANSIENT as exc:
        raise task.retry(exc=exc, countdown=cap_s()) from exc
    if moved is None:
        log.warning(
            "upload %s: could not mark it failed (it moved on)",
            upload_id,
            extra={"upload_id": upload_id},
        )


@shared_task(name="oms.reconcile_stats")
def reconcile_stats() -> dict[str, Any]:
    """Recount /stats from the uploads (and the finalizer's checkpoints)."""
    try:
        return {"rewritten": stats.reconcile()}
    except TRANSIENT as exc:
        log.warning("stats: %s", exc)
        return {"error": str(exc)[:300]}


@shared_task(name="oms.reap_stalled_uploads")
def reap_stalled_uploads() -> dict[str, Any]:
    """Re-drive uploads without progress, or fail them with the reason (beat)."""
    try:
        return reaper.reap()
    except TRANSIENT as exc:
        log.warning("reaper: %s", exc)
        return {"error": str(exc)[:300]}


@shared_task(name="oms.offer_new_stock")
def offer_new_stock() -> dict:
    """Stock that arrived at IMS goes to the backorders waiting for it (oldest first)."""
    try:
        return backorders.offer_new_stock()
    except TRANSIENT as exc:  # the next beat tries again from the same feed position
        log.warning("backorders: %s", exc)
        return {"error": str(exc)[:300]}


@shared_task(name="oms.sweep_orders")
def sweep_orders() -> dict:
    """Finish order follow-ups (stock releases, events) an outage or a crash left."""
    try:
        return commands.sweep()
    except TRANSIENT as exc:
        log.warning("order sweep: %s", exc)
        return {"error": str(exc)[:300]}
