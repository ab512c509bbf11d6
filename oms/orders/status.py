"""Order statuses and the one table of moves allowed between them."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    ON_HOLD = "on_hold"  # stored, waiting for the finalizer
    CONFIRMED = "confirmed"  # stock reserved at IMS
    BACKORDERED = "backordered"  # not enough stock yet; offered stock again when it arrives
    CANCELLED = "cancelled"  # any reservation given back
    FULFILLED = "fulfilled"  # shipped


S = OrderStatus

# status -> the statuses it may move to
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.ON_HOLD: frozenset({S.CONFIRMED, S.BACKORDERED, S.CANCELLED}),
    S.BACKORDERED: frozenset({S.CONFIRMED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.FULFILLED, S.CANCELLED}),
    S.CANCELLED: frozenset(),
    S.FULFILLED: frozenset(),
}

# Statuses in which the order holds stock at IMS.
HOLDS_STOCK = frozenset({S.CONFIRMED})


def allowed(current: OrderStatus) -> list[str]:
    """The statuses ``current`` may move to, in a stable order (for messages)."""
    return sorted(str(s) for s in TRANSITIONS[current])


def may_move(current: OrderStatus, target: OrderStatus) -> bool:
    return target in TRANSITIONS[current]
