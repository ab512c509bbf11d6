"""A request that dies between two writes leaves a state the next request finishes correctly.

Each test makes one step of the real code raise (as a crash would stop it there), then
checks what was left behind and that a repeat (or ``recover()``) decrements or returns stock
exactly once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ims.app import create_app, get_store
from ims.errors import Busy
from ims.locks import utcnow
from ims.reservations import PENDING, RELEASING
from tests.ims.support import HUB_1, SKU_A, TEST_CATALOG, markers, snapshot, stock_of


class Crash(Exception):
    pass


def crash_on_transition_from(monkeypatch, store, state):
    real = store.reservations._transition

    def transition(order_id, from_state, changes):
        if from_state == state:
            raise Crash(f"died before leaving {state}")
        return real(order_id, from_state, changes)

    monkeypatch.setattr(store.reservations, "_transition", transition)


def crash_in(monkeypatch, store, step):
    def die(*args, **kwargs):
        raise Crash(f"died before {step}")

    monkeypatch.setattr(store.reservations, step, die)


def reserve(store, quantity=2, order_id="ORD-1"):
    return store.reservations.reserve(order_id, SKU_A, HUB_1, quantity)


def age(db, order_id="ORD-1", seconds=60):
    """Pretend the crashed request's document was last touched ``seconds`` ago."""
    db["reservations"].update_one(
        {"order_id": order_id},
        {"$set": {"updated_at": utcnow() - timedelta(seconds=seconds)}},
    )


def test_crash_after_pending_insert_leaves_stock_untouched(monkeypatch, store, db):
    crash_in(monkeypatch, store, "apply_reservation")
    with pytest.raises(Crash):
        reserve(store)

    assert db["reservations"].find_one({"order_id": "ORD-1"})["state"] == PENDING
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)
    assert markers(db, SKU_A, HUB_1) == ([], [])

    monkeypatch.undo()
    reservation, created = reserve(store)

    assert created is False
    assert (
        reservation["state"],
        reservation["reserved"],
        reservation["available"],
    ) == (
        "reserved",
        True,
        3,
    )
    assert stock_of(db, SKU_A, HUB_1) == (3, 2)
    assert markers(db, SKU_A, HUB_1) == ([], [])


def test_crash_after_decrement_is_not_decremented_again(monkeypatch, store, db):
    crash_on_transition_from(monkeypatch, store, PENDING)
    with pytest.raises(Crash):
        reserve(store)

    assert db["reservations"].find_one({"order_id": "ORD-1"})["state"] == PENDING
    assert stock_of(db, SKU_A, HUB_1) == (3, 2)
    assert markers(db, SKU_A, HUB_1) == (["ORD-1"], [])

    monkeypatch.undo()
    reservation, _ = reserve(store)

    assert reservation["reserved"] is True
    assert reservation["available"] == 3
    assert stock_of(db, SKU_A, HUB_1) == (3, 2)
    assert markers(db, SKU_A, HUB_1) == ([], [])


def test_crash_after_decrement_then_release_returns_stock_once(monkeypatch, store, db):
    crash_on_transition_from(monkeypatch, store, PENDING)
    with pytest.raises(Crash):
        reserve(store)
    monkeypatch.undo()

    released = store.reservations.release("ORD-1")

    assert released == {"order_id": "ORD-1", "released": True, "state": "released"}
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)


def test_stale_hold_marker_after_final_state_is_harmless(store, db):
    reserve(store)
    # A crash between marking the reservation and pulling its marker leaves this behind.
    db["stock"].update_one(
        {"sku": SKU_A, "hub_id": HUB_1}, {"$push": {"holds": "ORD-1"}}
    )

    repeat, created = reserve(store)
    other, _ = reserve(store, quantity=1, order_id="ORD-2")

    assert created is False
    assert repeat["available"] == 3
    assert other["reserved"] is True
    assert stock_of(db, SKU_A, HUB_1) == (2, 3)
    assert store.reservations.recover(older_than=0)["markers_cleared"] == 1
    assert markers(db, SKU_A, HUB_1) == ([], [])


def test_crash_after_releasing_mark_returns_stock_once(monkeypatch, store, db):
    reserve(store)
    crash_in(monkeypatch, store, "apply_release")
    with pytest.raises(Crash):
        store.reservations.release("ORD-1")

    assert db["reservations"].find_one({"order_id": "ORD-1"})["state"] == RELEASING
    assert stock_of(db, SKU_A, HUB_1) == (3, 2)

    monkeypatch.undo()
    first = store.reservations.release("ORD-1")
    second = store.reservations.release("ORD-1")

    assert (
        first == second == {"order_id": "ORD-1", "released": True, "state": "released"}
    )
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)


def test_crash_after_stock_returned_does_not_return_it_twice(monkeypatch, store, db):
    reserve(store)
    crash_on_transition_from(monkeypatch, store, RELEASING)
    with pytest.raises(Crash):
        store.reservations.release("ORD-1")

    assert stock_of(db, SKU_A, HUB_1) == (5, 0)
    assert markers(db, SKU_A, HUB_1) == ([], ["ORD-1"])

    monkeypatch.undo()
    released = store.reservations.release("ORD-1")

    assert released["released"] is True
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)
    assert markers(db, SKU_A, HUB_1) == ([], [])


def test_repeat_reserve_finishes_an_interrupted_release(monkeypatch, store, db):
    reserve(store)
    crash_in(monkeypatch, store, "apply_release")
    with pytest.raises(Crash):
        store.reservations.release("ORD-1")
    monkeypatch.undo()

    reservation, _ = reserve(store)

    assert reservation["state"] == "released"
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)


def test_recover_settles_stuck_reservations(monkeypatch, store, db):
    crash_on_transition_from(monkeypatch, store, PENDING)
    with pytest.raises(Crash):
        reserve(store, order_id="ORD-1")
    crash_in(monkeypatch, store, "apply_reservation")
    with pytest.raises(Crash):
        reserve(store, order_id="ORD-2", quantity=1)
    monkeypatch.undo()

    too_recent = store.reservations.recover()  # default: only older than the lease TTL
    age(db, "ORD-1")
    age(db, "ORD-2")
    result = store.reservations.recover()

    assert too_recent == {"settled": 0, "busy": 0, "markers_cleared": 0}
    assert result == {"settled": 2, "busy": 0, "markers_cleared": 0}
    assert store.reservations.get("ORD-1")["reserved"] is True
    assert store.reservations.get("ORD-2")["reserved"] is True
    assert stock_of(db, SKU_A, HUB_1) == (2, 3)
    assert markers(db, SKU_A, HUB_1) == ([], [])


def test_live_lease_makes_a_repeat_wait_then_503_without_writing(db):
    app = create_app(db=db, test_config={"IMS_LOCK_WAIT": 0.2})
    store = get_store(app)
    store.seed(TEST_CATALOG)
    # A request that crashed after its pending insert, less than a lease TTL ago.
    token = store.locks.acquire("order:ORD-1", wait=0)
    store.reservations.insert_pending(
        "ORD-1", {"sku": SKU_A, "hub_id": HUB_1, "quantity": 2}
    )
    before = snapshot(db)

    body = {"order_id": "ORD-1", "sku": SKU_A, "hub_id": HUB_1, "quantity": 2}
    busy = app.test_client().post("/v1/reservations", json=body)

    assert busy.status_code == 503
    assert busy.json["code"] == "reservation_in_progress"
    assert busy.headers["Retry-After"] == "1"
    assert snapshot(db) == before
    assert store.reservations.recover(older_than=0) == {
        "settled": 0,
        "busy": 1,
        "markers_cleared": 0,
    }

    # Once the lease has expired, the next repeat takes over and finishes the job.
    db["locks"].update_one({"_id": "order:ORD-1"}, {"$set": {"expires_at": utcnow()}})
    done = app.test_client().post("/v1/reservations", json=body)

    assert done.status_code == 200
    assert done.json["reserved"] is True
    assert stock_of(db, SKU_A, HUB_1) == (3, 2)
    # The crashed holder, had it woken up, may no longer write.
    with pytest.raises(Busy, match="being processed"):
        store.reservations.apply_reservation(
            db["reservations"].find_one({"order_id": "ORD-1"}) | {"state": PENDING},
            token,
        )
    assert stock_of(db, SKU_A, HUB_1) == (3, 2)
