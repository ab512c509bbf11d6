"""POST /v1/validate: existence of (sku, hub_id) pairs, in request order, one query a call."""

from __future__ import annotations

import psycopg
import pytest

from devstack import postgres
from ims import store
from tests.ims.support import HUB_1, HUB_2, SKU_A, SKU_B, SKU_C, snapshot


def item(sku, hub_id):
    return {"sku": sku, "hub_id": hub_id}


def answer(sku, hub_id, sku_exists, hub_exists):
    return {
        "sku": sku,
        "hub_id": hub_id,
        "sku_exists": sku_exists,
        "hub_exists": hub_exists,
        "valid": sku_exists and hub_exists,
    }


def test_known_pair_is_valid(client):
    response = client.post("/v1/validate", json={"items": [item(SKU_A, HUB_1)]})

    assert response.status_code == 200
    assert response.json == {"items": [answer(SKU_A, HUB_1, True, True)]}


def test_pair_without_stock_line_is_still_valid(client):
    # Existence is what /validate answers; stock is the reservation's business.
    response = client.post("/v1/validate", json={"items": [item(SKU_C, HUB_2)]})

    assert response.json == {"items": [answer(SKU_C, HUB_2, True, True)]}


def test_unknown_sku(client):
    response = client.post("/v1/validate", json={"items": [item("SKU-00000", HUB_1)]})

    assert response.json == {"items": [answer("SKU-00000", HUB_1, False, True)]}


def test_unknown_hub(client):
    response = client.post("/v1/validate", json={"items": [item(SKU_A, "HUB-NOPE-99")]})

    assert response.json == {"items": [answer(SKU_A, "HUB-NOPE-99", True, False)]}


def test_mixed_duplicates_and_order_preserved(client):
    items = [
        item(SKU_B, HUB_2),
        item("SKU-00000", "HUB-NOPE-99"),
        item(SKU_A, HUB_1),
        item(SKU_B, HUB_2),  # duplicate: answered again, in place
        item("sku-90001", HUB_1),  # ids are case-sensitive
        item("", ""),
        item(SKU_A, "HUB-NOPE-99"),
    ]

    response = client.post("/v1/validate", json={"items": items})

    assert response.status_code == 200
    assert response.json["items"] == [
        answer(SKU_B, HUB_2, True, True),
        answer("SKU-00000", "HUB-NOPE-99", False, False),
        answer(SKU_A, HUB_1, True, True),
        answer(SKU_B, HUB_2, True, True),
        answer("sku-90001", HUB_1, False, True),
        answer("", "", False, False),
        answer(SKU_A, "HUB-NOPE-99", True, False),
    ]


def test_empty_items(client):
    response = client.post("/v1/validate", json={"items": []})

    assert response.status_code == 200
    assert response.json == {"items": []}


def test_extra_fields_are_ignored(client):
    body = {
        "items": [{"sku": SKU_A, "hub_id": HUB_1, "quantity": 3}],
        "upload_id": "u1",
    }

    response = client.post("/v1/validate", json=body)

    assert response.json == {"items": [answer(SKU_A, HUB_1, True, True)]}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([item(SKU_A, HUB_1)], id="array-not-object"),
        pytest.param({}, id="no-items"),
        pytest.param({"items": None}, id="items-null"),
        pytest.param({"items": "SKU-90001"}, id="items-string"),
        pytest.param({"items": [SKU_A]}, id="item-not-object"),
        pytest.param({"items": [{"sku": SKU_A}]}, id="item-without-hub"),
        pytest.param({"items": [{"hub_id": HUB_1}]}, id="item-without-sku"),
        pytest.param({"items": [{"sku": 90001, "hub_id": HUB_1}]}, id="sku-not-string"),
        pytest.param({"items": [{"sku": SKU_A, "hub_id": None}]}, id="hub-null"),
        pytest.param({"items": [{"sku": "S" * 129, "hub_id": HUB_1}]}, id="sku-too-long"),
    ],
)
def test_bad_body_is_400_json(client, db, body):
    before = snapshot(db)

    response = client.post("/v1/validate", json=body)

    assert response.status_code == 400
    assert response.json["code"] == "bad_request"
    assert response.json["message"]
    assert snapshot(db) == before


@pytest.mark.parametrize(
    "data, content_type",
    [
        ("not json", "application/json"),
        ('{"items": [', "application/json"),
        ('{"items": []}', "text/plain"),
        ("", "application/json"),
    ],
)
def test_unparseable_body_is_400_json(client, data, content_type):
    response = client.post("/v1/validate", data=data, content_type=content_type)

    assert response.status_code == 400
    assert response.json == {
        "code": "bad_request",
        "message": "request body must be a JSON object",
    }


def test_item_cap(make_app):
    client = make_app(max_items=3).test_client()

    at_cap = client.post("/v1/validate", json={"items": [item(SKU_A, HUB_1)] * 3})
    over_cap = client.post("/v1/validate", json={"items": [item(SKU_A, HUB_1)] * 4})

    assert at_cap.status_code == 200
    assert len(at_cap.json["items"]) == 3
    assert over_cap.status_code == 413
    assert over_cap.json["code"] == "too_many_items"
    assert over_cap.json["max_items"] == 3


def test_default_cap_is_10000(client):
    response = client.post("/v1/validate", json={"items": [item(SKU_A, HUB_1)] * 10_001})

    assert response.status_code == 413
    assert response.json["max_items"] == 10_000


class CountingCursor(psycopg.Cursor):
    """A real cursor that also counts the statements sent through it."""

    executed: list[str] = []

    def execute(self, query, params=None, **kwargs):
        CountingCursor.executed.append(str(query))
        return super().execute(query, params, **kwargs)


def test_one_query_for_a_large_batch(db, ims_database):
    items = [(f"SKU-{i % 50:05d}", [HUB_1, HUB_2, "HUB-X"][i % 3]) for i in range(5000)]
    items += [(SKU_A, HUB_1), (SKU_B, HUB_2)]
    CountingCursor.executed = []
    with psycopg.connect(
        postgres.conninfo(ims_database), autocommit=True, cursor_factory=CountingCursor
    ) as conn:
        answers = store.validate_pairs(conn, items)

    assert len(CountingCursor.executed) == 1
    assert len(answers) == len(items)
    assert answers[-2:] == [answer(SKU_A, HUB_1, True, True), answer(SKU_B, HUB_2, True, True)]
    assert sum(a["valid"] for a in answers) == 2


def test_validate_of_the_maximum_size_answers_every_item(client):
    items = [item(f"SKU-{i:05d}", HUB_1) for i in range(9_999)] + [item(SKU_B, HUB_2)]

    response = client.post("/v1/validate", json={"items": items})

    assert response.status_code == 200
    assert len(response.json["items"]) == 10_000
    assert response.json["items"][-1] == answer(SKU_B, HUB_2, True, True)
    assert sum(a["valid"] for a in response.json["items"]) == 1
