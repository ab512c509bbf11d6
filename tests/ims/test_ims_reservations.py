"""POST/GET/DELETE /v1/reservations through the Flask app, against the real database."""

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


def reserve(client, order_id="ORD-1", sku=SKU_A, hub_id=HUB_1, quantity=2):
    return client.post(
        "/v1/reservations", json=reservation(order_id, sku, hub_id, quantity), headers=KEY
    )


def release(client, order_id="ORD-1"):
    return client.delete(f"/v1/reservations/{order_id}", headers=KEY)


def add_stock(client, quantity, sku=SKU_A, hub_id=HUB_1):
    body = {"sku": sku, "hub_id": hub_id, "delta": quantity, "reason": "delivery"}
    response = client.post("/v1/inventory/adjust", json=body, headers=KEY)
    assert response.status_code == 200


def test_reservation_takes_stock_once(client, db):
    response = reserve(client, quantity=2)

    assert response.status_code == 201
    assert response.json == {
        "order_id": "ORD-1",
        "sku": SKU_A,
        "hub_id": HUB_1,
        "quantity": 2,
        "state": "reserved",
        "reserved": True,
        "available": 3,
    }
    assert stock_of(db, SKU_A, HUB_1) == (5, 2)
    assert held_quantity(db, SKU_A, HUB_1) == 2
    assert count(db, "reservations") == 1


def test_repeat_returns_first_answer_without_taking_stock(client, db):
    first = reserve(client, quantity=2)
    reserve(client, order_id="ORD-2", quantity=1)  # available moves on
    second = reserve(client, quantity=2)
    third = reserve(client, quantity=2)

    assert [first.status_code, second.status_code, third.status_code] == [201, 200, 200]
    assert second.json == first.json == third.json
    assert stock_of(db, SKU_A, HUB_1) == (5, 3)
    assert count(db, "reservations") == 2


def test_whole_stock_can_be_reserved(client, db):
    response = reserve(client, quantity=5)

    assert response.json["reserved"] is True
    assert response.json["available"] == 0
    assert stock_of(db, SKU_A, HUB_1) == (5, 5)


def test_short_of_stock_is_rejected_and_writes_nothing(client, db):
    before = snapshot(db)

    response = reserve(client, quantity=6)

    assert response.status_code == 200
    assert response.json == {
        "order_id": "ORD-1",
        "sku": SKU_A,
        "hub_id": HUB_1,
        "quantity": 6,
        "state": "rejected",
        "reserved": False,
        "available": 5,
    }
    assert snapshot(db) == before


def test_rejection_is_not_sticky_stock_that_arrives_is_reserved(client, db):
    rejected = reserve(client, order_id="ORD-9", quantity=6)
    still_rejected = reserve(client, order_id="ORD-9", quantity=6)
    add_stock(client, 1)

    reserved = reserve(client, order_id="ORD-9", quantity=6)

    assert (rejected.json["state"], rejected.json["available"]) == ("rejected", 5)
    assert still_rejected.status_code == 200
    assert still_rejected.json == rejected.json
    assert reserved.status_code == 201
    assert (reserved.json["state"], reserved.json["available"]) == ("reserved", 0)
    assert stock_of(db, SKU_A, HUB_1) == (6, 6)


def test_rejected_answer_shows_what_is_available_now(client):
    reserve(client, order_id="ORD-1", quantity=4)

    response = reserve(client, order_id="ORD-2", quantity=2)

    assert (response.json["state"], response.json["available"]) == ("rejected", 1)


def test_zero_stock_line_is_rejected(client, db):
    response = reserve(client, hub_id=HUB_2, quantity=1)

    assert response.json["reserved"] is False
    assert response.json["available"] == 0
    assert stock_of(db, SKU_A, HUB_2) == (0, 0)


def test_known_pair_without_stock_line_is_rejected_and_creates_no_line(client, db):
    before = snapshot(db)

    response = reserve(client, sku=SKU_C, quantity=1)

    assert response.status_code == 200
    assert (response.json["state"], response.json["available"]) == ("rejected", 0)
    assert snapshot(db) == before


@pytest.mark.parametrize(
    "sku, hub_id, code",
    [
        ("SKU-00000", HUB_1, "unknown_sku"),
        (SKU_A, "HUB-NOPE-99", "unknown_hub"),
        ("SKU-00000", "HUB-NOPE-99", "unknown_sku"),
    ],
)
def test_unknown_sku_or_hub_is_404_and_writes_nothing(client, db, sku, hub_id, code):
    before = snapshot(db)

    response = reserve(client, sku=sku, hub_id=hub_id)

    assert response.status_code == 404
    assert response.json["code"] == code
    assert response.json["message"]
    assert snapshot(db) == before


@pytest.mark.parametrize(
    "changes",
    [{"quantity": 3}, {"sku": SKU_B}, {"hub_id": HUB_2}],
    ids=["quantity", "sku", "hub"],
)
def test_same_order_id_for_another_request_is_409_and_writes_nothing(client, db, changes):
    reserve(client, quantity=2)
    before = snapshot(db)

    response = reserve(client, **{"quantity": 2, **changes})

    assert response.status_code == 409
    assert response.json["code"] == "order_id_conflict"
    assert response.json["existing"] == {"sku": SKU_A, "hub_id": HUB_1, "quantity": 2}
    assert snapshot(db) == before


GOOD = reservation("ORD-1", quantity=1)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([GOOD], id="array"),
        pytest.param(None, id="null"),
        pytest.param({k: v for k, v in GOOD.items() if k != "order_id"}, id="no-order-id"),
        pytest.param({k: v for k, v in GOOD.items() if k != "quantity"}, id="no-quantity"),
        pytest.param({k: v for k, v in GOOD.items() if k != "sku"}, id="no-sku"),
        pytest.param({k: v for k, v in GOOD.items() if k != "hub_id"}, id="no-hub"),
        pytest.param({**GOOD, "quantity": 0}, id="quantity-0"),
        pytest.param({**GOOD, "quantity": -1}, id="quantity-negative"),
        pytest.param({**GOOD, "quantity": 1.5}, id="quantity-float"),
        pytest.param({**GOOD, "quantity": "2"}, id="quantity-string"),
        pytest.param({**GOOD, "quantity": True}, id="quantity-bool"),
        pytest.param({**GOOD, "quantity": 1_000_001}, id="quantity-huge"),
        pytest.param({**GOOD, "order_id": ""}, id="order-id-empty"),
        pytest.param({**GOOD, "order_id": "ORD 1"}, id="order-id-space"),
        pytest.param({**GOOD, "order_id": "ORD/1"}, id="order-id-slash"),
        pytest.param({**GOOD, "order_id": "O" * 65}, id="order-id-65"),
        pytest.param({**GOOD, "order_id": 17}, id="order-id-number"),
        pytest.param({**GOOD, "sku": ""}, id="sku-empty"),
    ],
)
def test_bad_body_is_400_and_writes_nothing(client, db, body):
    before = snapshot(db)

    response = client.post("/v1/reservations", json=body, headers=KEY)

    assert response.status_code == 400
    assert response.json["code"] == "bad_request"
    assert snapshot(db) == before


def test_body_that_is_not_json_is_400(client, db):
    before = snapshot(db)

    response = client.post(
        "/v1/reservations",
        data="order_id=1",
        headers=KEY,
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert response.json == {"code": "bad_request", "message": "request body must be a JSON object"}
    assert snapshot(db) == before


def test_order_id_of_64_characters_is_accepted(client, db):
    response = reserve(client, order_id="A-_9" * 16, quantity=1)

    assert response.status_code == 201
    assert stock_of(db, SKU_A, HUB_1) == (5, 1)


def test_get_reservation(client):
    created = reserve(client)

    found = client.get("/v1/reservations/ORD-1")
    missing = client.get("/v1/reservations/ORD-404")

    assert found.status_code == 200
    assert found.json == created.json
    assert missing.status_code == 404
    assert missing.json["code"] == "reservation_not_found"


def test_a_rejection_leaves_no_reservation_to_get(client):
    reserve(client, quantity=6)

    response = client.get("/v1/reservations/ORD-1")

    assert response.status_code == 404
    assert response.json["code"] == "reservation_not_found"


def test_release_gives_stock_back_once(client, db):
    reserve(client, quantity=2)

    first = release(client)
    after_first = stock_of(db, SKU_A, HUB_1)
    second = release(client)

    assert first.status_code == 200
    assert first.json == {"order_id": "ORD-1", "released": True, "state": "released"}
    assert second.status_code == 200
    assert second.json == {"order_id": "ORD-1", "released": False, "state": "released"}
    assert after_first == (5, 0)
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)
    assert held_quantity(db, SKU_A, HUB_1) == 0


def test_released_reservation_is_shown_released(client):
    created = reserve(client, quantity=2)
    release(client)

    found = client.get("/v1/reservations/ORD-1")

    assert found.json == {**created.json, "state": "released"}


def test_reserve_after_release_does_not_take_stock_again(client, db):
    reserve(client, quantity=2)
    release(client)

    repeat = reserve(client, quantity=2)

    assert repeat.status_code == 200
    assert repeat.json["state"] == "released"
    assert repeat.json["reserved"] is True  # the first answer, kept
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)


def test_release_of_unknown_order_writes_nothing(client, db):
    before = snapshot(db)

    response = release(client, "ORD-404")

    assert response.status_code == 200
    assert response.json == {"order_id": "ORD-404", "released": False, "state": "not_found"}
    assert snapshot(db) == before


def test_release_of_a_rejected_order_finds_nothing_and_writes_nothing(client, db):
    reserve(client, quantity=6)
    before = snapshot(db)

    response = release(client)

    assert response.json == {"order_id": "ORD-1", "released": False, "state": "not_found"}
    assert snapshot(db) == before


def test_releases_only_touch_their_own_line(client, db):
    reserve(client, order_id="ORD-A", sku=SKU_A, quantity=2)
    reserve(client, order_id="ORD-B", sku=SKU_B, quantity=4)

    release(client, "ORD-A")

    assert stock_of(db, SKU_A, HUB_1) == (5, 0)
    assert stock_of(db, SKU_B, HUB_1) == (10, 4)
