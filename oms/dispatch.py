"""Enqueue pipeline work: the one place that sends the pipeline's task messages.

Tasks are named, not imported, so the API (and anything else that starts work) does not
load the worker's code; the app carries the broker settings (``workers.app``).
"""

from __future__ import annotations

from collections.abc import Iterable

from celery import chord

from workers.app import app

SPLIT = "oms.ingest_upload"
PROCESS_CHUNK = "oms.process_chunk"
FINALIZE = "oms.finalize_upload"


def start_split(upload_id: str) -> None:
    """Split the upload into chunks; the split then starts them (``start_chunks``)."""
    app.send_task(SPLIT, args=[upload_id])


def start_chunks(upload_id: str, indexes: Iterable[int]) -> None:
    """One process_chunk per index, then finalize_upload once all have returned."""
    header = [app.signature(PROCESS_CHUNK, args=(upload_id, index)) for index in indexes]
    chord(header)(app.signature(FINALIZE, args=(upload_id,), immutable=True))
