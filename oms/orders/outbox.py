"""Publishing order events that Kafka has not confirmed yet (the transactional outbox)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from oms.orders import events, store
from oms.stores import kafka

log = logging.getLogger(__name__)


def publish_created(orders: list[dict]) -> set[str]:
    """Publish order.created for ``orders``; mark the confirmed ones; return their ids."""
    if not orders:
        return set()
    delivered = kafka.publish(events.order_created(order) for order in orders)
    store.mark_published(delivered, datetime.now(timezone.utc))
    return delivered


def republish_pending(older_than: timedelta = timedelta(minutes=2), limit: int = 5000) -> dict:
    """Republish events of orders stored a while ago whose delivery was never confirmed
    (a chunk crashed between insert and publish, or Kafka was down). Orders younger than
    ``older_than`` are left to the chunk task still working on them."""
    cutoff = datetime.now(timezone.utc) - older_than
    pending = list(store.orders().find(
        {"outbox_pending": True, "created_at": {"$lt": cutoff}}, {"_id": 0}
    ).limit(limit))
    delivered = publish_created(pending)
    if pending:
        log.info("outbox: republished %d of %d pending order events",
                 len(delivered), len(pending))
    return {"pending": len(pending), "published": len(delivered)}
