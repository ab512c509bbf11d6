"""POST/GET/DELETE /v1/reservations through the Flask app, against the real database."""

from __future__ import annotations

import pytest

from ims.app import create_app, get_store
from tests.ims.support import (
    HUB_1,
    HUB_2,
    SKU_A,
    SKU_B,
    SKU_C,
    TEST_CATALOG,
    markers,
    snapshot,
    stock_of,
)


def reserve(client, order_id="ORD-1", sku=SKU_A, hub_id=HUB_1, quantity=2):
    body = {"order_id": order_id, "sku": sku, "hub_id": hub_id, "quantity": quantity}
    return client.post("/v1/reservations", json=body)


def test_reservation_decrements_once(client, db):
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
    assert stock_of(db, SKU_A, HUB_1) == (3, 2)
    assert markers(db, SKU_A, HUB_1) == ([], [])
    assert db["reservations"].count_documents({}) == 1
    assert db["locks"].count_documents({}) == 0


def test_repeat_returns_first_answer_without_decrementing(client, db):
    first = reserve(client, quantity=2)
    second = reserve(client, quantity=2)
    third = reserve(client, quantity=2)

    assert first.status_code == 201
    assert second.status_code == 200
    assert third.status_code == 200
    assert second.json == first.json == third.json
    assert stock_of(db, SKU_A, HUB_1) == (3, 2)
    assert db["reservations"].count_documents({}) == 1


def test_whole_stock_can_be_reserved(client, db):
    response = reserve(client, quantity=5)

    assert response.json["reserved"] is True
    assert response.json["available"] == 0
    assert stock_of(db, SKU_A, HUB_1) == (0, 5)


def test_insufficient_stock_is_rejected_and_takes_nothing(client, db):
    response = reserve(client, quantity=6)

    assert response.status_code == 201
    assert response.json["state"] == "rejected"
    assert response.json["reserved"] is False
    assert response.json["available"] == 5
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)
    assert markers(db, SKU_A, HUB_1) == ([], [])


def test_rejection_is_final_for_that_order_id(client, db):
    reserve(client, order_id="ORD-9", quantity=6)
    db["stock"].update_one({"sku": SKU_A, "hub_id": HUB_1}, {"$set": {"available": 50}})

    repeat = reserve(client, order_id="ORD-9", quantity=6)

    assert repeat.status_code == 200
    assert repeat.json["reserved"] is False
    assert repeat.json["available"] == 5  # the answer given the first time
    assert stock_of(db, SKU_A, HUB_1) == (50, 0)


def test_zero_stock_line_is_rejected(client, db):
    response = reserve(client, hub_id=HUB_2, quantity=1)

    assert response.json["reserved"] is False
    assert response.json["available"] == 0
    assert stock_of(db, SKU_A, HUB_2) == (0, 0)


def test_known_pair_without_stock_line_is_rejected_and_creates_no_line(client, db):
    response = reserve(client, sku=SKU_C, quantity=1)

    assert response.status_code == 201
    assert response.json["reserved"] is False
    assert response.json["available"] == 0
    assert db["stock"].find_one({"sku": SKU_C}) is None


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
    assert snapshot(db) == before


@pytest.mark.parametrize(
    "changes",
    [{"quantity": 3}, {"sku": SKU_B}, {"hub_id": HUB_2}],
    ids=["quantity", "sku", "hub"],
)
def test_same_order_id_for_another_request_is_409_and_writes_nothing(
    client, db, changes
):
    reserve(client, quantity=2)
    before = snapshot(db)

    response = reserve(client, **{"quantity": 2, **changes})

    assert response.status_code == 409
    assert response.json["code"] == "order_id_conflict"
    assert response.json["existing"] == {"sku": SKU_A, "hub_id": HUB_1, "quantity": 2}
    assert snapshot(db) == before


GOOD = {"order_id": "ORD-1", "sku": SKU_A, "hub_id": HUB_1, "quantity": 1}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([GOOD], id="array"),
        pytest.param(
            {k: v for k, v in GOOD.items() if k != "order_id"}, id="no-order-id"
        ),
        pytest.param(
            {k: v for k, v in GOOD.items() if k != "quantity"}, id="no-quantity"
        ),
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

    response = client.post("/v1/reservations", json=body)

    assert response.status_code == 400
    assert response.json["code"] == "bad_request"
    assert snapshot(db) == before


def test_order_id_of_64_characters_is_accepted(client, db):
    response = reserve(client, order_id="A-_9" * 16, quantity=1)

    assert response.status_code == 201
    assert stock_of(db, SKU_A, HUB_1) == (4, 1)


def test_get_reservation(client):
    created = reserve(client)

    found = client.get("/v1/reservations/ORD-1")
    missing = client.get("/v1/reservations/ORD-404")

    assert found.status_code == 200
    assert found.json == created.json
    assert missing.status_code == 404
    assert missing.json["code"] == "reservation_not_found"


def test_release_gives_stock_back_once(client, db):
    reserve(client, quantity=2)

    first = client.delete("/v1/reservations/ORD-1")
    after_first = stock_of(db, SKU_A, HUB_1)
    second = client.delete("/v1/reservations/ORD-1")

    assert first.status_code == 200
    assert first.json == {"order_id": "ORD-1", "released": True, "state": "released"}
    assert second.status_code == 200
    assert second.json == first.json
    assert after_first == (5, 0)
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)
    assert markers(db, SKU_A, HUB_1) == ([], [])
    assert db["locks"].count_documents({}) == 0


def test_reserve_after_release_does_not_take_stock_again(client, db):
    reserve(client, quantity=2)
    client.delete("/v1/reservations/ORD-1")

    repeat = reserve(client, quantity=2)

    assert repeat.status_code == 200
    assert repeat.json["state"] == "released"
    assert repeat.json["reserved"] is True  # the first answer, kept
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)


def test_release_of_unknown_order_writes_nothing(client, db):
    before = snapshot(db)

    response = client.delete("/v1/reservations/ORD-404")

    assert response.status_code == 200
    assert response.json == {
        "order_id": "ORD-404",
        "released": False,
        "state": "not_found",
    }
    assert snapshot(db) == before


def test_release_of_rejected_reservation_returns_nothing(client, db):
    reserve(client, quantity=6)
    before = snapshot(db)

    response = client.delete("/v1/reservations/ORD-1")

    assert response.json == {
        "order_id": "ORD-1",
        "released": False,
        "state": "rejected",
    }
    assert snapshot(db) == before


def test_releases_only_touch_their_own_line(client, db):
    reserve(client, order_id="ORD-A", sku=SKU_A, quantity=2)
    reserve(client, order_id="ORD-B", sku=SKU_B, quantity=4)

    client.delete("/v1/reservations/ORD-A")

    assert stock_of(db, SKU_A, HUB_1) == (5, 0)
    assert stock_of(db, SKU_B, HUB_1) == (6, 4)


def test_stock_endpoint(client):
    reserve(client, quantity=2)

    found = client.get(f"/v1/stock/{SKU_A}/{HUB_1}")
    missing = client.get(f"/v1/stock/{SKU_C}/{HUB_1}")

    assert found.json == {"sku": SKU_A, "hub_id": HUB_1, "available": 3, "reserved": 2}
    assert missing.status_code == 404
    assert missing.json["code"] == "stock_not_found"


def test_lock_free_mode_reserves_and_releases_the_same_way(db):
    # Real MongoDB runs without stock leases; the single-threaded behaviour must not differ.
    app = create_app(db=db, test_config={"IMS_STOCK_LOCKS": False})
    get_store(app).seed(TEST_CATALOG)
    client = app.test_client()

    reserved = reserve(client, quantity=5)
    rejected = reserve(client, order_id="ORD-2", quantity=1)
    released = client.delete("/v1/reservations/ORD-1")

    assert get_store(app).stock_locks is False
    assert (reserved.json["reserved"], rejected.json["reserved"]) == (True, False)
    assert released.json["released"] is True
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)
    assert markers(db, SKU_A, HUB_1) == ([], [])
