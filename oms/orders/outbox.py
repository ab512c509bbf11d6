"""Publishing order events and knowing which Kafka confirmed.

An event is only as good as its confirmation: whoever publishes keeps the work that
produced the events undone (a chunk not done, a finalizer batch not committed, an order
move still marked ``outbox``) until Kafka confirms every one, so a crash or an outage
republishes them later. Event ids are stable, so consumers drop the repeats.
"""

from __future__ import annotations

from oms.orders import events
from oms.stores import kafka


def publish(payloads: list[dict]) -> list[dict]:
    """Publish order event payloads; return the ones Kafka did not confirm."""
    if not payloads:
        return []
    delivered = kafka.publish(events.message(payload) for payload in payloads)
    return [p for p in payloads if p["order_id"] not in delivered]
