"""The finalizer confirms a listing block's orders with one update, and still tells which
orders it moved when some of the block were moved before (a replay) or cancelled
meanwhile (their stock goes back). Real store, real IMS."""

from __future__ import annotations

import pytest

from oms.orders import events, finalize
from oms.orders.commands import change_status
from oms.orders.status import OrderStatus
from oms.orders.store import orders
from tests.orders.support import available, set_available, stored_on_hold
from tests.pipeline.rows import HUBS, SKUS

pytestmark = pytest.mark.integration

PAIR = (SKUS[3], HUBS[3])
ORDERS = 6


def _stored_block(count: int) -> list[dict]:
    """``count`` on-hold orders of one upload's first block, stored as ingestion leaves
    them; their order.created payloads."""
    return [events.order_created(doc) for doc in stored_on_hold("FB", count, *PAIR)]


def _status(order_id: str) -> str:
    return orders().find_one({"order_id": order_id})["status"]


def test_a_blocks_orders_are_confirmed_by_one_update(ims_service, settings, monkeypatch):
    set_available(settings.ims_url, *PAIR, 100)
    payloads = _stored_block(ORDERS)
    assert len({p["block"] for p in payloads}) == 1

    def no_single_moves(move, *args, **kwargs):
        raise AssertionError(f"{move.order_id} was moved on its own")

    monkeypatch.setattr(finalize, "apply", no_single_moves)
    outcome = finalize.finalize(payloads)

    assert outcome.moved == ORDERS
    assert {p["order_id"] for p in payloads} == set(outcome.finalized)
    assert {e["event_id"] for e in outcome.events} == {
        events.event_id(p["order_id"], events.ORDER_UPDATED, 1) for p in payloads
    }
    for payload in payloads:
        order = orders().find_one({"order_id": payload["order_id"]})
        move = order["status_history"][1]
        assert (order["status"], move["from"], move["to"], move["actor"]) == (
            "confirmed",
            "on_hold",
            "confirmed",
            "finalizer",
        )
        assert move["reason"] == "stock reserved at IMS" and order["_v"] == 1
    assert available(settings.ims_url, *PAIR) == 100 - ORDERS


def test_a_block_partly_moved_before_is_told_apart_order_by_order(ims_service, settings):
    set_available(settings.ims_url, *PAIR, 100)
    payloads = _stored_block(ORDERS)
    earlier, cancelled = payloads[0], payloads[1]
    first = finalize.finalize([earlier])  # a batch that ran before (this one replays it)
    change_status(
        cancelled["order_id"], OrderStatus.CANCELLED, reason="customer asked", actor="test"
    )

    outcome = finalize.finalize(payloads)

    rest = {p["order_id"] for p in payloads[2:]}
    assert outcome.moved == len(rest)
    # The replayed order is finalized again with the same event; the cancelled one is not.
    assert set(outcome.finalized) == rest | {earlier["order_id"]}
    assert {e["event_id"] for e in outcome.events} == {
        events.event_id(p["order_id"], events.ORDER_UPDATED, 1) for p in payloads if p != cancelled
    }
    assert first.events[0]["event_id"] in {e["event_id"] for e in outcome.events}
    assert _status(cancelled["order_id"]) == "cancelled"
    assert all(_status(order_id) == "confirmed" for order_id in rest | {earlier["order_id"]})
    # The stock this call reserved for the cancelled order went back: only the five
    # confirmed orders hold stock.
    assert outcome.released == 1
    assert available(settings.ims_url, *PAIR) == 100 - (ORDERS - 1)
