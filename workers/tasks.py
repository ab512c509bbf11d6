"""The pipeline's Celery tasks: thin wrappers that take ids and call oms.pipeline.

Transient failures (S3, IMS, MongoDB, Kafka unreachable) retry with exponential backoff
and jitter. A chunk that still fails after its last retry is recorded as failed and the
task *returns*, so the chord's body (finalize_upload) still runs (docs/architecture.md).
"""

from __future__ import annotations

import logging
import random

from celery import Task, shared_task

from oms import dispatch
from oms.config import get_settings
from oms.errors import Unavailable
from oms.orders import backorders, commands
from oms.orders.outbox import republish_pending
from oms.pipeline import chunk, finalize, split
from oms.uploads import repository as repo
from oms.uploads.status import UploadStatus

log = logging.getLogger(__name__)

# The stores translate their transient failures into Unavailable at their border
# (oms.stores); anything else is a bug and is not retried.
TRANSIENT = (Unavailable, ConnectionError, TimeoutError)
MAX_BACKOFF_S = 300  # well below the SQS visibility timeout


def backoff(retries: int, base: float = 2.0) -> float:
    """Exponential backoff with full jitter: 0..min(cap, base * 2**retries) seconds."""
    return random.uniform(0, min(MAX_BACKOFF_S, base * 2**retries))


@shared_task(bind=True, name="oms.ingest_upload", max_retries=None)
def ingest_upload(self: Task, upload_id: str) -> dict:
    try:
        result = split.split_upload(upload_id)
    except TRANSIENT as exc:
        if self.request.retries < get_settings().task_max_retries:
            raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
        repo.transition(
            upload_id,
            UploadStatus.FAILED,
            error_code="unavailable",
            error=f"could not split the file after {self.request.retries + 1} attempts: {exc}",
        )
        return {"upload_id": upload_id, "action": "failed"}
    except Exception as exc:  # a bug: record it on the upload rather than leave it hanging
        log.exception("splitting upload %s failed", upload_id, extra={"upload_id": upload_id})
        repo.transition(
            upload_id,
            UploadStatus.FAILED,
            error_code="internal_error",
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        return {"upload_id": upload_id, "action": "failed"}
    if result.action == split.SplitAction.START_CHUNKS:
        dispatch.start_chunks(upload_id, result.chunk_indexes)
        split.mark_chord_started(upload_id)
    return {"upload_id": upload_id, "action": result.action, "chunks": len(result.chunk_indexes)}


@shared_task(bind=True, name="oms.process_chunk", max_retries=None)
def process_chunk(self: Task, upload_id: str, index: int) -> dict:
    try:
        return chunk.process_chunk(upload_id, index)
    except TRANSIENT as exc:
        if self.request.retries < get_settings().task_max_retries:
            log.warning(
                "chunk %s/%s: %s; retrying",
                upload_id,
                index,
                exc,
                extra={"upload_id": upload_id, "chunk": index},
            )
            raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
        error = f"gave up after {self.request.retries + 1} attempts: {exc}"
    except Exception as exc:  # a bug or bad data we did not foresee: record, do not loop
        log.exception(
            "chunk %s/%s failed", upload_id, index, extra={"upload_id": upload_id, "chunk": index}
        )
        error = f"{type(exc).__name__}: {exc}"
    repo.fail_chunk(upload_id, index, error[:2000])
    return {"failed": True, "error": error[:500]}


@shared_task(bind=True, name="oms.finalize_upload", max_retries=None)
def finalize_upload(self: Task, upload_id: str) -> dict:
    try:
        return finalize.finalize_upload(upload_id)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=backoff(min(self.request.retries, 7))) from exc


@shared_task(name="oms.republish_outbox")
def republish_outbox() -> dict:
    return republish_pending()


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
