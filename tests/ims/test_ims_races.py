"""The races PostgreSQL decides, staged one step at a time with two real sessions: one
holds its transaction open while the other is seen waiting on its lock, then commits."""

from __future__ import annotations

import threading
import time

import psycopg

from ims import reservations
from ims.reservations import Request
from tests.ims.support import HUB_1, SKU_A, SKU_B, connect, count, held_quantity, stock_of

ORDER = Request("ORD-1", SKU_A, HUB_1, 2)


def wait_until_blocked(observer: psycopg.Connection, backend_pid: int) -> None:
    """Return once session ``backend_pid`` waits for a lock (fail after 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        waiting = observer.execute(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (backend_pid,)
        ).fetchone()
        if waiting and waiting[0] == "Lock":
            return
        time.sleep(0.01)
    raise AssertionError(f"session {backend_pid} never waited for a lock")


def in_thread(work):
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.update(value=work()))
    thread.start()
    return thread, result


def test_a_duplicate_that_loses_the_race_gives_its_stock_back_and_answers_a_repeat(
    db, ims_database
):
    with connect(ims_database) as first, connect(ims_database) as second:
        with first.transaction():
            won = reservations.reserve(first, ORDER)
            thread, result = in_thread(lambda: reservations.reserve(second, ORDER))
            # The second found no reservation in its snapshot and waits to take stock.
            wait_until_blocked(db, second.info.backend_pid)
        thread.join()

    lost = result["value"]
    assert (won.status, lost.status) == (201, 200)
    assert lost.body == won.body
    assert stock_of(db, SKU_A, HUB_1) == (5, 2)
    assert held_quantity(db, SKU_A, HUB_1) == 2
    assert count(db, "reservations") == 1


def test_a_waiting_duplicate_left_too_little_stock_answers_the_repeat_not_a_rejection(
    db, ims_database
):
    order = Request("ORD-1", SKU_A, HUB_1, 4)  # of 5: after the first, 1 is left
    with connect(ims_database) as first, connect(ims_database) as second:
        with first.transaction():
            won = reservations.reserve(first, order)
            thread, result = in_thread(lambda: reservations.reserve(second, order))
            wait_until_blocked(db, second.info.backend_pid)
        thread.join()

    repeat = result["value"]
    assert (won.status, repeat.status) == (201, 200)
    assert repeat.body == won.body
    assert repeat.body["state"] == "reserved"
    assert stock_of(db, SKU_A, HUB_1) == (5, 4)


def test_when_the_first_rolls_back_the_waiting_duplicate_reserves(db, ims_database):
    with connect(ims_database) as first, connect(ims_database) as second:
        first.execute("BEGIN")
        reservations.reserve(first, ORDER)
        thread, result = in_thread(lambda: reservations.reserve(second, ORDER))
        wait_until_blocked(db, second.info.backend_pid)
        first.execute("ROLLBACK")
        thread.join()

    assert result["value"].status == 201
    assert stock_of(db, SKU_A, HUB_1) == (5, 2)
    assert count(db, "reservations") == 1


def test_an_order_waiting_on_a_line_sees_the_stock_left_by_the_one_before(db, ims_database):
    with connect(ims_database) as first, connect(ims_database) as second:
        with first.transaction():
            reservations.reserve(first, Request("ORD-1", SKU_A, HUB_1, 4))
            thread, result = in_thread(
                lambda: reservations.reserve(second, Request("ORD-2", SKU_A, HUB_1, 2))
            )
            wait_until_blocked(db, second.info.backend_pid)
        thread.join()

    rejected = result["value"]
    assert (rejected.status, rejected.body["state"]) == (200, "rejected")
    assert rejected.body["available"] == 1
    assert stock_of(db, SKU_A, HUB_1) == (5, 4)


def test_one_order_id_on_two_lines_at_once_takes_stock_once_and_the_second_conflicts(
    db, ims_database
):
    # The two batches lock different lines, so neither waits for the other's lock: the
    # second takes its line's stock, then its INSERT waits on the first's uncommitted
    # order_id, does nothing once the first commits, and its transaction is run again.
    other_line = Request("ORD-1", SKU_B, HUB_1, 1)
    with connect(ims_database) as first, connect(ims_database) as second:
        with first.transaction():
            won = reservations.reserve(first, ORDER)
            thread, result = in_thread(lambda: reservations.reserve(second, other_line))
            wait_until_blocked(db, second.info.backend_pid)
        thread.join()

    lost = result["value"]
    assert won.status == 201
    assert lost.status == 409
    assert lost.error.code == "order_id_conflict"
    assert stock_of(db, SKU_A, HUB_1) == (5, 2)
    assert stock_of(db, SKU_B, HUB_1) == (10, 0)  # its stock went back with the rollback
    assert count(db, "reservations") == 1


def test_two_releases_at_once_give_the_stock_back_once(db, ims_database):
    reservations.reserve(db, ORDER)
    with connect(ims_database) as first, connect(ims_database) as second:
        with first.transaction():
            one = reservations.release(first, "ORD-1")
            thread, result = in_thread(lambda: reservations.release(second, "ORD-1"))
            wait_until_blocked(db, second.info.backend_pid)
        thread.join()

    assert one == {"order_id": "ORD-1", "released": True, "state": "released"}
    assert result["value"] == {"order_id": "ORD-1", "released": False, "state": "released"}
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)
