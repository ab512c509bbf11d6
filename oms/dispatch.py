"""Enqueue pipeline work: the one place that sends the pipeline's task messages.

Tasks are named, not imported, so the API (and anything else that starts work) does not
load the worker's code; the app carries the broker settings (``workers.app``). Which
chunks are sent when is ``oms.pipeline.schedule``'s business.
"""

from __future__ import annotations

from oms import queues
from workers.app import app

SPLIT = "oms.ingest_upload"
PROCESS_CHUNK = "oms.process_chunk"
FINALIZE = "oms.finalize_upload"
DELIVER_WEBHOOK = "oms.deliver_webhook"
UNDO = "oms.undo_upload"


def start_split(upload_id: str) -> None:
    """Split the upload into chunks; the split then starts them."""
    app.send_task(SPLIT, args=[upload_id], queue=queues.EXPRESS)


def send_chunk(upload_id: str, index: int, express: bool = False) -> None:
    """A chunk goes on the express queue when its whole upload is small."""
    queue = queues.EXPRESS if express else queues.DEFAULT
    app.send_task(PROCESS_CHUNK, args=[upload_id, index], queue=queue)


def start_finalize(upload_id: str) -> None:
    """Join the invalid rows and close the upload (safe to send twice)."""
    app.send_task(FINALIZE, args=[upload_id], queue=queues.EXPRESS)


def start_undo(upload_id: str) -> None:
    """Cancel the upload's orders (long for a large upload: the chunks' queue)."""
    app.send_task(UNDO, args=[upload_id], queue=queues.DEFAULT)


def deliver_webhook(delivery_id: str, countdown: float | None = None) -> None:
    """Attempt a webhook delivery (now, or after ``countdown`` seconds: a retry)."""
    app.send_task(DELIVER_WEBHOOK, args=[delivery_id], queue=queues.EXPRESS, countdown=countdown)
