"""Stock lines: GET /v1/inventory, GET /v1/stock, POST /v1/inventory/adjust and the
GET /v1/inventory/events feed of adjustments."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.ims.support import (
    HUB_1,
    HUB_2,
    KEY,
    SKU_A,
    SKU_B,
    SKU_C,
    count,
    reservation,
    snapshot,
    stock_of,
)


def line(sku, hub_id, on_hand, reserved=0):
    return {
        "sku": sku,
        "hub_id": hub_id,
        "on_hand": on_hand,
        "reserved": reserved,
        "available": on_hand - reserved,
    }


def adjust(client, delta, sku=SKU_A, hub_id=HUB_1, reason="cycle count"):
    body = {"sku": sku, "hub_id": hub_id, "delta": delta, "reason": reason}
    return client.post("/v1/inventory/adjust", json=body, headers=KEY)


def events(client, **query):
    return client.get("/v1/inventory/events", query_string=query)


def test_inventory_lists_every_line_sorted(client):
    client.post("/v1/reservations", json=reservation("ORD-1", SKU_B, HUB_2, 2), headers=KEY)

    response = client.get("/v1/inventory")

    assert response.status_code == 200
    assert response.json == {
        "items": [
            line(SKU_A, HUB_1, 5),
            line(SKU_A, HUB_2, 0),
            line(SKU_B, HUB_1, 10),
            line(SKU_B, HUB_2, 3, reserved=2),
        ]
    }


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"hub_id": HUB_2}, [(SKU_A, HUB_2), (SKU_B, HUB_2)]),
        ({"sku": SKU_B}, [(SKU_B, HUB_1), (SKU_B, HUB_2)]),
        ({"sku": SKU_B, "hub_id": HUB_1}, [(SKU_B, HUB_1)]),
        ({"sku": SKU_C}, []),
        ({"hub_id": "HUB-NOPE"}, []),
    ],
)
def test_inventory_filters(client, query, expected):
    response = client.get("/v1/inventory", query_string=query)

    assert [(i["sku"], i["hub_id"]) for i in response.json["items"]] == expected


def test_an_empty_inventory_filter_is_no_filter(client):
    response = client.get(f"/v1/inventory?sku=&hub_id={HUB_2}")

    assert [(i["sku"], i["hub_id"]) for i in response.json["items"]] == [
        (SKU_A, HUB_2),
        (SKU_B, HUB_2),
    ]


def test_an_overlong_inventory_filter_is_400(client):
    response = client.get("/v1/inventory", query_string={"sku": "S" * 129})

    assert response.status_code == 400
    assert response.json["code"] == "bad_request"


def test_stock_endpoint(client):
    client.post("/v1/reservations", json=reservation("ORD-1", quantity=2), headers=KEY)

    found = client.get(f"/v1/stock/{SKU_A}/{HUB_1}")
    missing = client.get(f"/v1/stock/{SKU_C}/{HUB_1}")

    assert found.json == line(SKU_A, HUB_1, 5, reserved=2)
    assert missing.status_code == 404
    assert missing.json["code"] == "stock_not_found"


def test_adjust_up_adds_on_hand_stock(client, db):
    response = adjust(client, 7)

    assert response.status_code == 200
    assert response.json == line(SKU_A, HUB_1, 12)
    assert stock_of(db, SKU_A, HUB_1) == (12, 0)


def test_adjust_down_removes_available_stock_only(client, db):
    client.post("/v1/reservations", json=reservation("ORD-1", quantity=2), headers=KEY)

    response = adjust(client, -3)

    assert response.status_code == 200
    assert response.json == line(SKU_A, HUB_1, 2, reserved=2)


def test_removing_more_than_available_is_409_and_writes_nothing(client, db):
    client.post("/v1/reservations", json=reservation("ORD-1", quantity=2), headers=KEY)
    before = snapshot(db)

    response = adjust(client, -4)  # on hand 5, but 2 of them are reserved

    assert response.status_code == 409
    assert response.json == {
        "code": "insufficient_stock",
        "message": f"cannot remove 4 of {SKU_A!r} at {HUB_1!r}: 3 available",
        "available": 3,
    }
    assert snapshot(db) == before


def test_removing_from_a_missing_line_is_409_and_creates_nothing(client, db):
    before = snapshot(db)

    response = adjust(client, -1, sku=SKU_C)

    assert response.status_code == 409
    assert response.json["available"] == 0
    assert snapshot(db) == before


def test_adding_to_a_missing_line_creates_it(client, db):
    response = adjust(client, 4, sku=SKU_C, hub_id=HUB_2)

    assert response.json == line(SKU_C, HUB_2, 4)
    assert stock_of(db, SKU_C, HUB_2) == (4, 0)


@pytest.mark.parametrize(
    "sku, hub_id, code",
    [("SKU-00000", HUB_1, "unknown_sku"), (SKU_A, "HUB-NOPE", "unknown_hub")],
)
def test_adjust_of_an_unknown_sku_or_hub_is_404_and_writes_nothing(client, db, sku, hub_id, code):
    before = snapshot(db)

    response = adjust(client, 5, sku=sku, hub_id=hub_id)

    assert response.status_code == 404
    assert response.json["code"] == code
    assert snapshot(db) == before


GOOD = {"sku": SKU_A, "hub_id": HUB_1, "delta": 1, "reason": "count"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({**GOOD, "delta": 0}, id="delta-0"),
        pytest.param({**GOOD, "delta": 1.5}, id="delta-float"),
        pytest.param({**GOOD, "delta": "3"}, id="delta-string"),
        pytest.param({**GOOD, "delta": True}, id="delta-bool"),
        pytest.param({**GOOD, "delta": 10**12}, id="delta-huge"),
        pytest.param({k: v for k, v in GOOD.items() if k != "delta"}, id="no-delta"),
        pytest.param({k: v for k, v in GOOD.items() if k != "reason"}, id="no-reason"),
        pytest.param({**GOOD, "reason": ""}, id="reason-empty"),
        pytest.param({**GOOD, "sku": ""}, id="sku-empty"),
        pytest.param([GOOD], id="array"),
    ],
)
def test_bad_adjust_body_is_400_and_writes_nothing(client, db, body):
    before = snapshot(db)

    response = client.post("/v1/inventory/adjust", json=body, headers=KEY)

    assert response.status_code == 400
    assert response.json["code"] == "bad_request"
    assert snapshot(db) == before


def test_every_adjustment_is_an_event(client):
    adjust(client, 4, reason="delivery 17")
    adjust(client, -1, sku=SKU_B, hub_id=HUB_2, reason="damaged")

    response = events(client)

    assert response.status_code == 200
    items = response.json["items"]
    assert [{k: v for k, v in i.items() if k not in ("id", "at")} for i in items] == [
        {
            "sku": SKU_A,
            "hub_id": HUB_1,
            "delta": 4,
            "on_hand": 9,
            "available": 9,
            "reason": "delivery 17",
        },
        {
            "sku": SKU_B,
            "hub_id": HUB_2,
            "delta": -1,
            "on_hand": 2,
            "available": 2,
            "reason": "damaged",
        },
    ]
    assert items[0]["id"] < items[1]["id"]
    assert all(datetime.fromisoformat(i["at"]).tzinfo is not None for i in items)
    assert response.json["next_after"] == items[1]["id"]


def test_the_event_shows_available_after_reservations(client):
    client.post("/v1/reservations", json=reservation("ORD-1", quantity=2), headers=KEY)

    adjust(client, 1)

    event = events(client).json["items"][0]
    assert (event["on_hand"], event["available"]) == (6, 4)


def test_a_refused_adjustment_leaves_no_event(client, db):
    adjust(client, -99)
    adjust(client, 3, sku="SKU-00000")

    assert events(client).json == {"items": [], "next_after": 0}
    assert count(db, "inventory_events") == 0


def test_events_feed_pages_in_id_order_without_gaps(client):
    for delta in range(1, 8):
        adjust(client, delta, reason=f"delivery {delta}")

    seen, after, pages = [], 0, 0
    while True:
        page = events(client, after=after, limit=3).json
        if not page["items"]:
            assert page["next_after"] == after
            break
        seen += page["items"]
        after = page["next_after"]
        pages += 1

    assert pages == 3
    assert [e["delta"] for e in seen] == list(range(1, 8))
    assert [e["id"] for e in seen] == sorted({e["id"] for e in seen})


def test_events_after_the_last_one_is_empty_and_keeps_the_cursor(client):
    adjust(client, 2)
    last = events(client).json["next_after"]

    response = events(client, after=last)

    assert response.json == {"items": [], "next_after": last}


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": "ten"},
        {"after": -1},
        {"after": "x"},
        {"after": 2**63},
    ],
)
def test_bad_events_query_is_400(client, query):
    response = events(client, **query)

    assert response.status_code == 400
    assert response.json["code"] == "bad_request"


def test_events_limit_up_to_1000(client):
    response = events(client, limit=1000)

    assert response.status_code == 200
    assert response.json == {"items": [], "next_after": 0}
