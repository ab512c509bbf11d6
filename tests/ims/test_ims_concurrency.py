"""Many requests racing for one stock line: never oversell, never decrement twice.

These run on the local FerretDB, whose updates are not isolated (read-modify-write), so they
exercise the stock leases; on MongoDB the conditional update alone gives the same result.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.ims.support import HUB_1, SKU_A, SKU_B, markers, stock_of

THREADS = 20


def race(app, bodies, method="post"):
    """Send one request per body, all released at the same instant; return responses."""
    barrier = threading.Barrier(len(bodies))

    def send(body):
        client = app.test_client()
        barrier.wait()
        if method == "post":
            return client.post("/v1/reservations", json=body)
        return client.delete(f"/v1/reservations/{body}")

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))


def test_twenty_orders_racing_for_five_units_never_oversell(app, db):
    bodies = [
        {"order_id": f"RACE-{i}", "sku": SKU_A, "hub_id": HUB_1, "quantity": 1}
        for i in range(THREADS)
    ]

    responses = race(app, bodies)

    assert [r.status_code for r in responses] == [201] * THREADS
    assert sum(r.json["reserved"] for r in responses) == 5
    assert stock_of(db, SKU_A, HUB_1) == (0, 5)
    assert db["reservations"].count_documents({"state": "reserved"}) == 5
    assert db["reservations"].count_documents({"state": "rejected"}) == THREADS - 5
    assert markers(db, SKU_A, HUB_1) == ([], [])
    assert db["locks"].count_documents({}) == 0


def test_racing_multi_unit_orders_never_oversell(app, db):
    bodies = [
        {"order_id": f"RACE-{i}", "sku": SKU_B, "hub_id": HUB_1, "quantity": 3}
        for i in range(THREADS)
    ]

    responses = race(app, bodies)

    winners = [r for r in responses if r.json["reserved"]]
    assert len(winners) == 3  # 3 × 3 of a stock of 10
    assert stock_of(db, SKU_B, HUB_1) == (1, 9)
    assert sorted(r.json["available"] for r in winners) == [1, 4, 7]


def test_twenty_copies_of_one_order_decrement_once(app, db):
    body = {"order_id": "DUP-1", "sku": SKU_A, "hub_id": HUB_1, "quantity": 2}

    responses = race(app, [body] * THREADS)

    assert Counter(r.status_code for r in responses) == {201: 1, 200: THREADS - 1}
    assert all(r.json == responses[0].json for r in responses)
    assert responses[0].json["reserved"] is True
    assert stock_of(db, SKU_A, HUB_1) == (3, 2)
    assert db["reservations"].count_documents({}) == 1


def test_concurrent_releases_give_stock_back_once(app, db):
    client = app.test_client()
    for i in range(5):
        body = {"order_id": f"REL-{i}", "sku": SKU_A, "hub_id": HUB_1, "quantity": 1}
        assert client.post("/v1/reservations", json=body).json["reserved"] is True
    assert stock_of(db, SKU_A, HUB_1) == (0, 5)

    # Every reservation released by four racing DELETEs.
    responses = race(app, [f"REL-{i % 5}" for i in range(THREADS)], method="delete")

    assert all(r.status_code == 200 and r.json["released"] for r in responses)
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)
    assert markers(db, SKU_A, HUB_1) == ([], [])


def test_reserves_and_releases_interleaved_keep_the_books_balanced(app, db):
    client = app.test_client()
    for i in range(3):
        body = {"order_id": f"OLD-{i}", "sku": SKU_A, "hub_id": HUB_1, "quantity": 1}
        client.post("/v1/reservations", json=body)
    barrier = threading.Barrier(13)

    def new_order(i):
        barrier.wait()
        body = {"order_id": f"NEW-{i}", "sku": SKU_A, "hub_id": HUB_1, "quantity": 1}
        return app.test_client().post("/v1/reservations", json=body).json["reserved"]

    def release_old(i):
        barrier.wait()
        return app.test_client().delete(f"/v1/reservations/OLD-{i}").json["released"]

    with ThreadPoolExecutor(max_workers=13) as pool:
        new = [pool.submit(new_order, i) for i in range(10)]
        old = [pool.submit(release_old, i) for i in range(3)]
        reserved_new = sum(f.result() for f in new)
        assert all(f.result() for f in old)

    available, reserved = stock_of(db, SKU_A, HUB_1)
    assert available + reserved == 5
    assert reserved == reserved_new
    assert db["reservations"].count_documents({"state": "reserved"}) == reserved_new
    assert 2 <= reserved_new <= 5
