"""Stock that arrives goes to the backorders waiting for it, oldest first.

IMS keeps a feed of stock adjustments (``GET /v1/inventory/events``). ``offer_new_stock``
(a beat task) reads it from where it stopped last; for each (sku, hub) that got stock it
takes the backordered orders of that pair, oldest first, as far as the available stock
goes (the first one that does not fit stops it: first come, first served), reserves their
stock in one IMS call and moves them ``backordered -> confirmed``. Each move owes its
event through the order's outbox mark, so nothing is lost if Kafka is away.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pymongo.collection import Collection

from oms.orders import commands, counts
from oms.orders.status import OrderStatus
from oms.orders.store import orders
from oms.orders.workflow import BACKORDER_KEY, Move, apply, backorder_key
from oms.stores import ims, mongo

log = logging.getLogger(__name__)

ACTOR = "backorders"
FEED_CURSOR = "ims_inventory_feed"


def counters() -> Collection[dict[str, Any]]:
    return mongo.db()["counters"]


@mongo.translating
def offer_new_stock(max_events: int = 500) -> dict[str, int]:
    """Read the IMS feed since the last call and offer what arrived; returns counts."""
    doc = counters().find_one({"_id": FEED_CURSOR}) or {}
    after = int(doc.get("after", 0))
    items, next_after = ims.inventory_events(after, limit=max_events)
    arrived: list[tuple[str, str]] = []
    for item in items:
        pair = (item["sku"], item["hub_id"])
        if item["delta"] > 0 and pair not in arrived:
            arrived.append(pair)
    confirmed = sum(offer(sku, hub_id) for sku, hub_id in arrived)
    if next_after > after:
        mongo.update_one(
            counters(), {"_id": FEED_CURSOR}, {"$max": {"after": next_after}}, upsert=True
        )
    return {"events": len(items), "confirmed": confirmed}


@mongo.translating
def offer(sku: str, hub_id: str) -> int:
    """Confirm the backorders of (sku, hub_id), oldest first, while stock lasts; returns
    how many were confirmed."""
    waiting = sorted(
        orders().find(
            {BACKORDER_KEY: backorder_key(sku, hub_id), "status": str(OrderStatus.BACKORDERED)}
        ),
        key=lambda o: (o["backordered_at"], o["_id"]),
    )
    stock = ims.available(sku, hub_id)
    chosen: list[dict[str, Any]] = []
    for order in waiting:
        if order["item"]["quantity"] > stock:
            break
        stock -= order["item"]["quantity"]
        chosen.append(order)
    if not chosen:
        return 0
    answers = ims.reserve(
        [
            {
                "order_id": o["order_id"],
                "sku": sku,
                "hub_id": hub_id,
                "quantity": o["item"]["quantity"],
            }
            for o in chosen
        ]
    )
    at = datetime.now(UTC)
    moved = []
    for order in chosen:
        answer = answers.get(order["order_id"])
        if answer is None or not answer.reserved:
            continue  # taken meanwhile by someone else: the next arrival offers again
        move = Move(
            order["order_id"],
            OrderStatus.CONFIRMED,
            f"stock of {sku} arrived at {hub_id}",
            OrderStatus.BACKORDERED,
        )
        if apply(move, ACTOR, order, at, event_owed=len(order["status_history"])):
            moved.append(order)
        else:  # cancelled meanwhile: it must not keep the reservation
            commands.follow_up(order["order_id"])
            current = orders().find_one({"order_id": order["order_id"]})
            if current is None or current["status"] != str(OrderStatus.CONFIRMED):
                ims.release(order["order_id"])
    counts.add_moves(
        (o["upload_id"], OrderStatus.BACKORDERED, OrderStatus.CONFIRMED) for o in moved
    )
    for order in moved:
        commands.follow_up(order["order_id"])
    log.info("backorders of %s at %s: %d confirmed", sku, hub_id, len(moved))
    return len(moved)
