"""Moving an order from one status to another: the one place that does it.

A move is allowed only by ``oms.orders.status.TRANSITIONS``. It is one conditional update
of the order (``{order_id, status: <current>}``, versioned so it is atomic on both
stores, see ``oms.stores.mongo``) that sets the new status and appends the
``status_history`` entry (from, to, at, reason, actor); of two racing moves exactly one
matches. Every move has an ``order.updated`` event whose ``event_id`` is fixed by the
entry's position in the history, so it can be sent again without ever being a new event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from oms.errors import NotFound, OMSError
from oms.orders import events
from oms.orders.status import OrderStatus, allowed
from oms.orders.store import orders
from oms.stores import mongo

log = logging.getLogger(__name__)

BACKORDER_KEY = "backorder_key"  # "<sku>|<hub_id>" while backordered: who gets new stock


class TransitionRefused(OMSError):
    """The order's status does not allow the move; says which moves it allows."""

    def __init__(self, order_id: str, current: OrderStatus, target: OrderStatus) -> None:
        self.order_id, self.current, self.target = order_id, current, target
        self.allowed = allowed(current)
        moves = ", ".join(self.allowed) or "none: it is final"
        super().__init__(
            f"order {order_id} is {current}; it cannot become {target} "
            f"(allowed from {current}: {moves})"
        )


@dataclass(frozen=True)
class Move:
    """A wanted move of one order (the finalizer's and the backorder retry's unit)."""

    order_id: str
    target: OrderStatus
    reason: str
    source: OrderStatus  # the status the move starts from


def backorder_key(sku: str, hub_id: str) -> str:
    return f"{sku}|{hub_id}"


def entry(
    source: OrderStatus, target: OrderStatus, reason: str, actor: str, at: datetime
) -> dict[str, Any]:
    return {
        "status": str(target),
        "from": str(source),
        "to": str(target),
        "at": at,
        "reason": reason,
        "actor": actor,
    }


def move_update(
    order: dict[str, Any] | None,
    source: OrderStatus,
    target: OrderStatus,
    reason: str,
    actor: str,
    at: datetime,
    *,
    event_owed: int | None = None,
    **also: Any,
) -> dict[str, Any]:
    """The update that moves an order from ``source`` to ``target`` (``order`` gives the
    SKU and hub a backorder is filed under; None when the target is not backordered).
    ``event_owed``: the history position whose event is still to be sent (outbox)."""
    update: dict[str, Any] = {
        "$set": {"status": str(target), "updated_at": at, **also},
        "$push": {"status_history": entry(source, target, reason, actor, at)},
    }
    if event_owed is not None:
        update["$set"]["outbox"] = True
        update["$addToSet"] = {"pending_events": event_owed}
    if target == OrderStatus.BACKORDERED:
        if order is None:
            raise ValueError("a backorder needs the order's sku and hub")
        update["$set"][BACKORDER_KEY] = backorder_key(order["item"]["sku"], order["hub_id"])
        update["$set"]["backordered_at"] = at
    elif source == OrderStatus.BACKORDERED:
        update["$unset"] = {BACKORDER_KEY: "", "backordered_at": ""}
    return update


def apply(
    move: Move,
    actor: str,
    order: dict[str, Any] | None = None,
    at: datetime | None = None,
    *,
    event_owed: int | None = None,
    **also: Any,
) -> bool:
    """Apply ``move`` if the order is still in ``move.source``; True if this call moved
    it (False: it was not in that status any more, someone else moved it)."""
    at = at or datetime.now(UTC)
    update = move_update(
        order, move.source, move.target, move.reason, actor, at, event_owed=event_owed, **also
    )
    result = mongo.update_one(
        orders(), {"order_id": move.order_id, "status": str(move.source)}, update
    )
    return result.modified_count == 1


def get_order(order_id: str) -> dict[str, Any]:
    order = orders().find_one({"order_id": order_id})
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    return order


def last_move_event(order: dict[str, Any]) -> dict[str, Any] | None:
    """The ``order.updated`` payload of the order's latest move (None if it never moved)."""
    history = order.get("status_history") or []
    if len(history) < 2:
        return None
    return events.order_updated(order, len(history) - 1)
