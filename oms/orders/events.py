"""Order events for Kafka: payloads with an ``event_id`` stable across re-runs."""

from __future__ import annotations

import uuid
from datetime import datetime

from oms.config import get_settings
from oms.orders.money import from_cents
from oms.stores.kafka import Message

SCHEMA_VERSION = 1
ORDER_CREATED = "order.created"
ORDER_UPDATED = "order.updated"
_NAMESPACE = uuid.UUID("5f1d7a4e-9b8c-4c1e-8a57-0d7e2b6f9a10")


def event_id(order_id: str, event_type: str, sequence: int = 0) -> str:
    """The same order and event always get the same id, so consumers can drop repeats."""
    return str(uuid.uuid5(_NAMESPACE, f"{event_type}:{order_id}:{sequence}"))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def order_created(order: dict) -> dict:
    """The ``order.created`` payload of a stored order document. ``block`` (the order's
    listing block) lets the finalizer move a block's orders with one update."""
    return {
        "event_id": event_id(order["order_id"], ORDER_CREATED),
        "event_type": ORDER_CREATED,
        "schema_version": SCHEMA_VERSION,
        "occurred_at": _iso(order["created_at"]),
        "order_id": order["order_id"],
        "upload_id": order["upload_id"],
        "status": order["status"],
        "hub_id": order["hub_id"],
        "sku": order["item"]["sku"],
        "quantity": order["item"]["quantity"],
        "total_amount": str(from_cents(order["item"]["total_amount_cents"])),
        "block": order["block"],
    }


def order_updated(order: dict, index: int) -> dict:
    """The ``order.updated`` payload of the move recorded at ``status_history[index]``;
    its event_id depends only on the order and that position, so a repeat is the same
    event."""
    move = order["status_history"][index]
    return {
        "event_id": event_id(order["order_id"], ORDER_UPDATED, index),
        "event_type": ORDER_UPDATED,
        "schema_version": SCHEMA_VERSION,
        "occurred_at": _iso(move["at"]),
        "order_id": order["order_id"],
        "upload_id": order["upload_id"],
        "status": move["to"],
        "previous_status": move["from"],
        "reason": move.get("reason"),
        "actor": move.get("actor"),
        "hub_id": order["hub_id"],
        "sku": order["item"]["sku"],
        "quantity": order["item"]["quantity"],
        "total_amount": str(from_cents(order["item"]["total_amount_cents"])),
    }


def message(payload: dict) -> Message:
    """The Kafka message of a payload: topic by event type, key = order_id."""
    return Message(get_settings().topic(payload["event_type"]), payload["order_id"], payload)
