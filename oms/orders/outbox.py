"""Order events that Kafka has not confirmed yet (the outbox), kept on the chunk document.

A chunk publishes ``order.created`` for its stored orders and waits for Kafka's
confirmations *before* it is marked done. Events not confirmed are written to the chunk's
``unconfirmed_events`` (the payloads themselves, so republishing reads no order); the
periodic sweeper republishes them. A crash before the chunk records anything leaves the
chunk not done, so SQS redelivers it and the re-run publishes again: event ids are stable,
consumers drop the repeats.
"""

from __future__ import annotations

import logging

from oms.orders import events
from oms.stores import kafka, mongo
from oms.uploads import repository as repo

log = logging.getLogger(__name__)


def publish(payloads: list[dict]) -> list[dict]:
    """Publish order event payloads; return the ones Kafka did not confirm."""
    if not payloads:
        return []
    delivered = kafka.publish(events.message(payload) for payload in payloads)
    return [p for p in payloads if p["order_id"] not in delivered]


@mongo.translating
def chunks_with_unconfirmed_events(limit: int) -> list[dict]:
    # ``events_pending`` is an equality lookup (oms.stores.mongo.LOOKUPS).
    return list(repo.chunks().find({"events_pending": True}).limit(limit))


@mongo.translating
def set_unconfirmed_events(chunk_id: str, payloads: list[dict]) -> None:
    mongo.update_one(
        repo.chunks(),
        {"_id": chunk_id},
        {"$set": {"unconfirmed_events": payloads, "events_pending": bool(payloads)}},
    )


def republish_pending(limit_chunks: int = 50) -> dict:
    """Publish every chunk's unconfirmed events again; keep what still fails."""
    pending = published = 0
    for chunk in chunks_with_unconfirmed_events(limit_chunks):
        payloads = chunk["unconfirmed_events"]
        still = publish(payloads)
        set_unconfirmed_events(chunk["_id"], still)
        pending += len(payloads)
        published += len(payloads) - len(still)
    if pending:
        log.info("outbox: republished %d of %d unconfirmed order events", published, pending)
    return {"pending": pending, "published": published}
