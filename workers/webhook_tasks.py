"""The webhooks' Celery tasks: one delivery attempt, and the beat sweep (oms.webhooks).

A receiver's failure is an attempt recorded on the delivery, never a task failure; the
next attempt is sent with a countdown when its wait is short, else the sweep sends it
when it is due. When the store is away the attempt is retried by the one policy of
``workers.retry``, and the sweep covers what that gives up.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from oms import dispatch
from oms.webhooks import deliveries
from workers.retry import TRANSIENT, backoff, cap_s, may_retry

log = logging.getLogger(__name__)


@shared_task(bind=True, name="oms.deliver_webhook", max_retries=None)
def deliver_webhook(self: Task, delivery_id: str) -> dict[str, Any]:
    try:
        outcome = deliveries.attempt(delivery_id)
    except TRANSIENT as exc:
        if may_retry(self):
            raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
        log.warning("webhook delivery %s left to the sweep: %s", delivery_id, exc)
        return {"status": "left_to_sweep", "error": str(exc)[:300]}
    wait = outcome.get("retry_in")
    if wait is not None and wait <= cap_s():
        try:
            dispatch.deliver_webhook(delivery_id, countdown=wait)
        except Exception as exc:  # noqa: BLE001  (the sweep sends it when it is due)
            log.warning("webhook delivery %s: retry left to the sweep: %s", delivery_id, exc)
    return outcome


@shared_task(name="oms.sweep_webhooks")
def sweep_webhooks() -> dict[str, Any]:
    """Record the deliveries a crash left unrecorded and send those that are due."""
    try:
        recorded, due = deliveries.sweep()
    except TRANSIENT as exc:
        log.warning("webhook sweep: %s", exc)
        return {"error": str(exc)[:300]}
    for delivery_id in due:
        dispatch.deliver_webhook(delivery_id)
    return {"recorded": len(recorded), "sent": len(due)}
