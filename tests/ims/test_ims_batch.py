"""POST /v1/reservations/batch: every item atomic and idempotent on its own, one answer
per item in request order; only a bad envelope fails the whole call."""

from __future__ import annotations

import pytest

from tests.ims.support import (
    HUB_1,
    HUB_2,
    KEY,
    SKU_A,
    SKU_B,
    SKU_C,
    count,
    held_quantity,
    reservation,
    snapshot,
    stock_of,
)


def batch(client, items):
    return client.post("/v1/reservations/batch", json={"items": items}, headers=KEY)


def reserved_item(order_id, sku, hub_id, quantity, available, status=201, state="reserved"):
    return {
        "order_id": order_id,
        "sku": sku,
        "hub_id": hub_id,
        "quantity": quantity,
        "state": state,
        "reserved": state != "rejected",
        "available": available,
        "status": status,
    }


def test_each_item_is_answered_in_request_order(client, db):
    items = [
        reservation("ORD-3", SKU_B, HUB_1, 4),
        reservation("ORD-1", SKU_A, HUB_1, 2),
        reservation("ORD-2", SKU_A, HUB_1, 4),  # short: 3 left after ORD-1
        reservation("ORD-4", "SKU-00000", HUB_1, 1),
        reservation("ORD-5", SKU_A, "HUB-NOPE", 1),
        {"order_id": "ORD-6", "sku": SKU_A, "hub_id": HUB_1, "quantity": 0},
    ]

    response = batch(client, items)

    assert response.status_code == 200
    answers = response.json["items"]
    assert answers[:3] == [
        reserved_item("ORD-3", SKU_B, HUB_1, 4, 6),
        reserved_item("ORD-1", SKU_A, HUB_1, 2, 3),
        reserved_item("ORD-2", SKU_A, HUB_1, 4, 3, status=200, state="rejected"),
    ]
    assert [(a["order_id"], a["status"], a["code"]) for a in answers[3:]] == [
        ("ORD-4", 404, "unknown_sku"),
        ("ORD-5", 404, "unknown_hub"),
        ("ORD-6", 400, "bad_request"),
    ]
    assert all(a["message"] for a in answers[3:])
    assert answers[5]["errors"] == {
        "quantity": ["Must be greater than or equal to 1 and less than or equal to 1000000."]
    }
    assert stock_of(db, SKU_A, HUB_1) == (5, 2)
    assert stock_of(db, SKU_B, HUB_1) == (10, 4)
    assert count(db, "reservations") == 2


def test_a_repeated_batch_takes_nothing_and_answers_the_same(client, db):
    items = [
        reservation("ORD-1", SKU_A, HUB_1, 2),
        reservation("ORD-2", SKU_B, HUB_2, 3),
        reservation("ORD-3", SKU_A, HUB_1, 9),
    ]
    first = batch(client, items).json["items"]
    before = snapshot(db)

    second = batch(client, items).json["items"]

    assert [a["status"] for a in first] == [201, 201, 200]
    assert [a["status"] for a in second] == [200, 200, 200]
    assert [{**a, "status": None} for a in second] == [{**a, "status": None} for a in first]
    assert snapshot(db) == before


def test_batch_and_single_calls_share_the_reservations(client, db):
    client.post("/v1/reservations", json=reservation("ORD-1", quantity=2), headers=KEY)

    answers = batch(
        client, [reservation("ORD-1", quantity=2), reservation("ORD-1-B", quantity=2)]
    ).json["items"]
    single = client.post("/v1/reservations", json=reservation("ORD-1-B", quantity=2), headers=KEY)

    assert [a["status"] for a in answers] == [200, 201]
    assert answers[0]["available"] == 3  # ORD-1's first answer
    assert single.status_code == 200
    assert stock_of(db, SKU_A, HUB_1) == (5, 4)


def test_duplicates_of_one_order_inside_a_batch_are_decided_once(client, db):
    items = [
        reservation("ORD-1", quantity=2),
        reservation("ORD-2", quantity=1),
        reservation("ORD-1", quantity=2),
        reservation("ORD-1", quantity=3),
    ]

    answers = batch(client, items).json["items"]

    assert answers[0] == reserved_item("ORD-1", SKU_A, HUB_1, 2, 3)  # ORD-1 before ORD-2
    assert answers[2] == {**answers[0], "status": 200}
    assert answers[3]["status"] == 409
    assert answers[3]["code"] == "order_id_conflict"
    assert answers[3]["existing"] == {"sku": SKU_A, "hub_id": HUB_1, "quantity": 2}
    assert stock_of(db, SKU_A, HUB_1) == (5, 3)
    assert held_quantity(db, SKU_A, HUB_1) == 3


def test_a_rejected_duplicate_is_rejected_alike(client, db):
    items = [reservation("ORD-1", quantity=9), reservation("ORD-1", quantity=9)]
    before = snapshot(db)

    answers = batch(client, items).json["items"]

    assert answers[0] == answers[1]
    assert answers[0]["state"] == "rejected"
    assert snapshot(db) == before


def test_conflict_with_a_stored_reservation_fails_only_that_item(client, db):
    batch(client, [reservation("ORD-1", quantity=2)])

    answers = batch(
        client,
        [
            reservation("ORD-1", SKU_B, HUB_1, 2),
            reservation("ORD-2", SKU_C, HUB_1, 1),
            reservation("ORD-3", SKU_B, HUB_1, 2),
        ],
    ).json["items"]

    assert [(a["status"], a.get("code"), a.get("state")) for a in answers] == [
        (409, "order_id_conflict", None),
        (200, None, "rejected"),
        (201, None, "reserved"),
    ]
    assert stock_of(db, SKU_B, HUB_1) == (10, 2)


def test_items_racing_for_one_line_are_taken_until_it_is_empty(client, db):
    items = [reservation(f"ORD-{i}", SKU_B, HUB_2, 1) for i in range(5)]

    answers = batch(client, items).json["items"]

    assert [a["state"] for a in answers] == ["reserved"] * 3 + ["rejected"] * 2
    assert stock_of(db, SKU_B, HUB_2) == (3, 3)


def test_empty_batch(client):
    response = batch(client, [])

    assert response.status_code == 200
    assert response.json == {"items": []}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([reservation("ORD-1")], id="array"),
        pytest.param({}, id="no-items"),
        pytest.param({"items": None}, id="items-null"),
        pytest.param({"items": {"order_id": "ORD-1"}}, id="items-object"),
    ],
)
def test_a_bad_envelope_is_400_and_writes_nothing(client, db, body):
    before = snapshot(db)

    response = client.post("/v1/reservations/batch", json=body, headers=KEY)

    assert response.status_code == 400
    assert response.json["code"] == "bad_request"
    assert snapshot(db) == before


def test_items_that_are_not_objects_fail_alone(client, db):
    answers = batch(client, ["ORD-1", None, reservation("ORD-2", quantity=1)]).json["items"]

    assert [(a["order_id"], a["status"]) for a in answers] == [
        (None, 400),
        (None, 400),
        ("ORD-2", 201),
    ]
    assert stock_of(db, SKU_A, HUB_1) == (5, 1)


def test_batch_cap(make_app, db):
    client = make_app(max_batch=3).test_client()
    before = snapshot(db)

    over = batch(client, [reservation(f"ORD-{i}", quantity=1) for i in range(4)])
    after_over = snapshot(db)
    at_cap = batch(client, [reservation(f"ORD-{i}", quantity=1) for i in range(3)])

    assert over.status_code == 413
    assert over.json["code"] == "too_many_items"
    assert over.json["max_items"] == 3
    assert after_over == before
    assert [a["status"] for a in at_cap.json["items"]] == [201, 201, 201]


def test_default_cap_is_500(client, db):
    items = [reservation(f"ORD-{i}", SKU_B, HUB_1, 1) for i in range(500)]

    at_cap = batch(client, items)
    over = batch(client, items + [reservation("ORD-X", quantity=1)])

    assert at_cap.status_code == 200
    assert sum(a["status"] == 201 for a in at_cap.json["items"]) == 10
    assert over.status_code == 413
    assert over.json["max_items"] == 500
