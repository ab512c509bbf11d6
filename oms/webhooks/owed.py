"""The one hook of the upload pipeline: what an upload's terminal status owes webhooks.

``add_to`` puts the event into the very update that changes the status (a
``webhook_events`` entry with a stable id and the ``webhooks_owed`` mark), so no crash
can separate the status from what it owes. ``notify``, right after, records the
deliveries and sends them; when it cannot (a crash, an outage), the beat sweep
(``oms.sweep_webhooks``) finds the mark and does it. Nothing here fails the pipeline.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from oms import dispatch
from oms.webhooks import deliveries, events

log = logging.getLogger(__name__)


def add_to(update: dict[str, Any], status: str, at: datetime) -> None:
    """Add the event of reaching ``status`` (if it is one webhooks are told) to the
    status change's ``update``."""
    event = events.event_of(status)
    if event is None:
        return
    entry = {"id": f"evt_{uuid.uuid4().hex}", "event": event, "at": at}
    update.setdefault("$push", {})["webhook_events"] = entry
    update.setdefault("$set", {})["webhooks_owed"] = True


def notify(upload_id: str, status: str) -> None:
    """Record and send what the upload now owes; on any failure leave it to the sweep."""
    if events.event_of(status) is None:
        return
    try:
        for delivery_id in deliveries.record(upload_id):
            dispatch.deliver_webhook(delivery_id)
    except Exception as exc:  # noqa: BLE001  (the sweep delivers it; the upload goes on)
        log.warning(
            "upload %s: webhook deliveries left to the sweep: %s",
            upload_id,
            exc,
            extra={"upload_id": upload_id},
        )
