"""What people ask of one order: cancel it, or move it to another allowed status.

Each request is one move (``oms.orders.workflow``) plus what must follow it: stock given
back to IMS when the order stops holding it, the ``order.updated`` event, the counts.
The move itself records what must still follow (``release_pending``, ``outbox`` with the
events' history positions), and each follow-up clears its mark when done, so a crash or
an outage of IMS or Kafka leaves a mark that ``sweep`` finishes later; nothing is lost.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from oms.errors import OMSError, Unavailable
from oms.orders import counts, events, outbox
from oms.orders.status import HOLDS_STOCK, OrderStatus, may_move
from oms.orders.store import orders
from oms.orders.workflow import Move, TransitionRefused, apply, get_order
from oms.stores import ims, mongo

log = logging.getLogger(__name__)

ATTEMPTS = 5  # re-reads after losing a race to another move


class NoStock(OMSError):
    """Confirming a backorder needs stock that IMS does not have."""

    def __init__(self, order_id: str, available: int | None) -> None:
        self.order_id, self.available = order_id, available
        super().__init__(
            f"order {order_id} cannot be confirmed: IMS has not enough stock "
            f"(available {available})"
        )


def change_status(
    order_id: str, target: OrderStatus, *, reason: str, actor: str
) -> tuple[dict[str, Any], bool]:
    """Move the order to ``target`` if its status allows; returns (order, changed).

    Asking for the status it has already changes nothing. A forbidden move raises
    TransitionRefused (it names the allowed ones); of two racing requests exactly one
    moves the order, the other sees the result.
    """
    reserved = False
    try:
        for _ in range(ATTEMPTS):
            order = get_order(order_id)
            current = OrderStatus(order["status"])
            if current == target:
                return order, False
            if not may_move(current, target):
                raise TransitionRefused(order_id, current, target)
            if target in HOLDS_STOCK and current not in HOLDS_STOCK and not reserved:
                _reserve(order)
                reserved = True
            position = len(order.get("status_history") or [])
            # Cancelling also releases from on_hold: a finalizer may be reserving.
            release = (
                current in HOLDS_STOCK
                and target not in HOLDS_STOCK
                or target == OrderStatus.CANCELLED
            )
            marks = {"release_pending": True} if release else {}
            if apply(
                Move(order_id, target, reason, current),
                actor,
                order,
                datetime.now(UTC),
                event_owed=position,
                **marks,
            ):
                reserved = False  # the order holds it now
                counts.add_moves([(order["upload_id"], current, target)])
                follow_up(order_id)
                return get_order(order_id), True
        raise Unavailable(f"order {order_id} kept changing; try again")
    finally:
        # Reserved for a move that did not happen: give it back, unless the order holds
        # stock anyway (IMS keys reservations by order_id: it is the same one).
        if reserved and get_order(order_id)["status"] not in HOLDS_STOCK:
            ims.release(order_id)


def _reserve(order: dict[str, Any]) -> None:
    item = order["item"]
    answer = ims.reserve(
        [
            {
                "order_id": order["order_id"],
                "sku": item["sku"],
                "hub_id": order["hub_id"],
                "quantity": item["quantity"],
            }
        ]
    )
    reservation = answer.get(order["order_id"])
    if reservation is None or not reservation.reserved:
        raise NoStock(order["order_id"], reservation.available if reservation else None)


@mongo.translating
def follow_up(order_id: str) -> None:
    """Do what the order's marks say is still owed: release its stock, send its events.
    An unreachable IMS or Kafka leaves the mark for ``sweep``."""
    order = get_order(order_id)
    if order.get("release_pending"):
        try:
            ims.release(order_id)
        except Unavailable as exc:
            log.warning("order %s: stock release postponed: %s", order_id, exc)
        else:
            mongo.update_one(
                orders(),
                {"order_id": order_id, "_v": order["_v"]},
                {"$unset": {"release_pending": ""}},
            )
            order = get_order(order_id)
    if order.get("outbox"):
        payloads = [events.order_updated(order, i) for i in order.get("pending_events", [])]
        if not outbox.publish(payloads):
            mongo.update_one(
                orders(),
                {"order_id": order_id, "_v": order["_v"]},
                {"$unset": {"outbox": "", "pending_events": ""}},
            )


@mongo.translating
def sweep(limit: int = 200) -> dict[str, int]:
    """Finish the follow-ups that an outage or a crash left (the beat runs this)."""
    owed = {
        doc["order_id"]
        for mark in ("release_pending", "outbox")
        for doc in orders().find({mark: True}, {"order_id": 1}).limit(limit)
    }
    for order_id in owed:
        follow_up(order_id)
    return {"orders": len(owed)}
