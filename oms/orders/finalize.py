"""Finalizing orders: reserve their stock at IMS, confirm or backorder them, say so.

``finalize(payloads)`` takes a batch of ``order.created`` events and, for every order
still on hold, reserves its stock (``reserve``: one IMS batch call; a reservation is
idempotent by order_id, so the finalizer may ask for the next batch's while this one is
stored) and moves it ``on_hold -> confirmed`` or ``on_hold -> backordered`` with the
reason. The confirmations of one listing block (the event's ``block``: up to 50 orders
of one upload) are one conditional ``update_many`` (block, status on_hold, order_id among
them): 1.37 ms per order against 3.17 ms for an ``update_one`` each on the local store
(``benchmarks/store_costs.py``, one client). On the local store the batch's confirmations
are first one PostgreSQL statement (``devstack/ferretdb_moves.py``), which leaves the
``update_many`` only what it did not move. Backorders (each with its own reason) and
events without a block are moved one by one.

Orders moved earlier (a replayed batch) are recognised from their history; an order
cancelled meanwhile gets back the stock this call reserved. It returns the
``order.updated`` payloads of every finalization in the batch, whoever applied it (a
repeat carries the same event_id), and each order's final status for counting.

Nothing here commits Kafka offsets or counts: ``oms.orders.finalizer`` does, after the
store and Kafka have confirmed what this returns.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from oms.errors import Unavailable
from oms.orders import events
from oms.orders.money import to_cents
from oms.orders.status import OrderStatus
from oms.orders.store import ORDERS, orders
from oms.orders.workflow import Move, apply, entry, move_update
from oms.stores import ims, mongo
from oms.stores.process_local import per_process

log = logging.getLogger(__name__)

ACTOR = "finalizer"
HOLDING = (OrderStatus.CONFIRMED, OrderStatus.FULFILLED)  # statuses that keep a reservation
CONFIRM_REASON = "stock reserved at IMS"
MOVE_THREADS = 8  # updates in flight at once: each waits ~1-2 ms on the store


@dataclass
class Outcome:
    """What a batch came to."""

    events: list[dict[str, Any]] = field(default_factory=list)  # order.updated to publish
    finalized: dict[str, tuple[str, OrderStatus]] = field(default_factory=dict)
    moved: int = 0  # moves this call applied (the rest were applied before)
    released: int = 0  # reservations given back for orders cancelled meanwhile


def reserve(payloads: list[dict[str, Any]]) -> dict[str, ims.Reservation]:
    """IMS's answer for each order of ``payloads`` (one reservation per order_id, which
    IMS keeps idempotent: asking again takes nothing more). Raises Unavailable."""
    by_order = {p["order_id"]: p for p in payloads}
    return ims.reserve(
        [
            {
                "order_id": p["order_id"],
                "sku": p["sku"],
                "hub_id": p["hub_id"],
                "quantity": p["quantity"],
            }
            for p in by_order.values()
        ]
    )


def finalize(
    payloads: list[dict[str, Any]], answers: dict[str, ims.Reservation] | None = None
) -> Outcome:
    """Finalize the orders of ``payloads`` (order.created events), with ``answers`` from
    ``reserve(payloads)`` when it was asked already. Raises Unavailable when IMS or the
    store cannot answer: nothing is lost, the batch can run again."""
    by_order = {p["order_id"]: p for p in payloads}  # a repeat of one event counts once
    if answers is None:
        answers = reserve(payloads)
    at = datetime.now(UTC)
    moves = [_decide(p, answers.get(p["order_id"])) for p in by_order.values()]
    blocks: dict[str, list[Move]] = defaultdict(list)
    singles: list[Move] = []
    for move in moves:
        block = by_order[move.order_id].get("block")
        if move.target == OrderStatus.CONFIRMED and block:
            blocks[block].append(move)
        else:
            singles.append(move)
    in_postgres = _confirm_in_postgres(blocks, at)
    left = {
        block: rest
        for block, block_moves in blocks.items()
        if (rest := [m for m in block_moves if m.order_id not in in_postgres])
    }
    with ThreadPoolExecutor(MOVE_THREADS) as pool:
        by_block = pool.map(lambda item: _confirm_block(item[0], item[1], at), left.items())
        one_by_one = pool.map(
            lambda m: apply(m, ACTOR, _order_view(by_order[m.order_id]), at), singles
        )
        done = {
            **dict.fromkeys(in_postgres, True),
            **{m.order_id: applied for group in by_block for m, applied in group},
            **{m.order_id: applied for m, applied in zip(singles, one_by_one, strict=True)},
        }
    outcome = Outcome()
    for move in moves:
        payload = by_order[move.order_id]
        if done[move.order_id]:
            outcome.moved += 1
            outcome.finalized[move.order_id] = (payload["upload_id"], move.target)
            outcome.events.append(_event(payload, move, at))
        else:
            _after_lost_move(payload, answers.get(move.order_id), outcome)
    return outcome


def _confirm_in_postgres(blocks: dict[str, list[Move]], at: datetime) -> set[str]:
    """On the local store, confirm the on-hold orders of ``blocks`` with one PostgreSQL
    statement (``devstack/ferretdb_moves.py``: FerretDB's own update costs about 1 ms
    per order); the order_ids it moved. Elsewhere, and for what it did not move, the
    blocks' ``update_many`` below does the work."""
    if not blocks or not _on_local_store():
        return set()
    import psycopg

    from devstack import ferretdb_moves

    source, target = OrderStatus.ON_HOLD, OrderStatus.CONFIRMED
    try:
        return ferretdb_moves.confirm(
            orders().database.name,
            ORDERS,
            list(blocks),
            [m.order_id for moves in blocks.values() for m in moves],
            str(source),
            str(target),
            entry(source, target, CONFIRM_REASON, ACTOR, at),
        )
    except psycopg.OperationalError as exc:
        raise Unavailable(f"the local store's PostgreSQL did not answer: {exc}") from exc


@per_process
def _on_local_store() -> bool:
    return mongo.translating(mongo.is_ferretdb)(orders().database)


def _confirm_block(block: str, moves: list[Move], at: datetime) -> list[tuple[Move, bool]]:
    """Confirm the on-hold orders of ``moves`` (all of ``block``) with one update; each
    move with True if this call applied it. When the update changed fewer orders than it
    names (some were moved before: a replay, a cancel), the block is read once: this
    call's moves are the first moves made by the finalizer at ``at`` (the store keeps
    milliseconds)."""
    result = mongo.update_many(
        orders(),
        {
            "block": block,
            "status": str(OrderStatus.ON_HOLD),
            "order_id": {"$in": [m.order_id for m in moves]},
        },
        move_update(None, OrderStatus.ON_HOLD, OrderStatus.CONFIRMED, CONFIRM_REASON, ACTOR, at),
    )
    if result.modified_count == len(moves):
        return [(move, True) for move in moves]
    stored_at = at.replace(microsecond=at.microsecond // 1000 * 1000)
    mine = {
        doc["order_id"]
        for doc in orders().find({"block": block}, {"order_id": 1, "status_history": 1})
        if _first_move_is(doc, stored_at)
    }
    return [(move, move.order_id in mine) for move in moves]


def _first_move_is(order: dict[str, Any], at: datetime) -> bool:
    history = order.get("status_history") or []
    first = history[1] if len(history) > 1 else {}
    return (
        first.get("actor") == ACTOR
        and first.get("to") == str(OrderStatus.CONFIRMED)
        and first.get("at") == at
    )


def _decide(payload: dict[str, Any], answer: ims.Reservation | None) -> Move:
    if answer is not None and answer.reserved:
        return Move(payload["order_id"], OrderStatus.CONFIRMED, CONFIRM_REASON, OrderStatus.ON_HOLD)
    if answer is None:
        reason = "IMS gave no answer for this order"
    elif answer.code:
        reason = f"IMS refused the reservation: {answer.code}: {answer.message}"
    else:
        reason = (
            f"not enough stock of {payload['sku']} at {payload['hub_id']}: wanted "
            f"{payload['quantity']}, available {answer.available}"
        )
    return Move(payload["order_id"], OrderStatus.BACKORDERED, reason, OrderStatus.ON_HOLD)


def _order_view(payload: dict[str, Any]) -> dict[str, Any]:
    """What a move needs of the order, from its event (no read of the store)."""
    return {"item": {"sku": payload["sku"]}, "hub_id": payload["hub_id"]}


def _event(payload: dict[str, Any], move: Move, at: datetime) -> dict[str, Any]:
    """The order.updated of a finalization this call applied: the order's first move,
    at ``status_history[1]`` (an order is stored with its on_hold entry only)."""
    order = {
        "order_id": payload["order_id"],
        "upload_id": payload["upload_id"],
        "hub_id": payload["hub_id"],
        "item": {
            "sku": payload["sku"],
            "quantity": payload["quantity"],
            "total_amount_cents": to_cents(Decimal(payload["total_amount"])),
        },
        "status_history": [
            None,
            {
                "from": str(move.source),
                "to": str(move.target),
                "at": at,
                "reason": move.reason,
                "actor": ACTOR,
            },
        ],
    }
    return events.order_updated(order, 1)


def _after_lost_move(
    payload: dict[str, Any], answer: ims.Reservation | None, outcome: Outcome
) -> None:
    """The order was not on hold any more: finalized before (a replay), or cancelled."""
    order = orders().find_one({"order_id": payload["order_id"]})
    if order is None:
        log.error("order %s of an order.created event is not in the store", payload["order_id"])
        return
    history = order.get("status_history") or []
    first_move = history[1] if len(history) > 1 else None
    if first_move and first_move.get("actor") == ACTOR:
        outcome.finalized[order["order_id"]] = (order["upload_id"], OrderStatus(first_move["to"]))
        outcome.events.append(events.order_updated(order, 1))
    if answer is None or not answer.reserved or order["status"] in HOLDING:
        return
    # This call holds stock for an order that does not: a backorder takes it (replayed
    # after stock arrived), anything else (cancelled meanwhile) gives it back.
    if order["status"] == OrderStatus.BACKORDERED and apply(
        Move(
            order["order_id"],
            OrderStatus.CONFIRMED,
            CONFIRM_REASON,
            OrderStatus.BACKORDERED,
        ),
        ACTOR,
    ):
        return
    if ims.release(order["order_id"]):
        outcome.released += 1
