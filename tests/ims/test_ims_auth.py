"""Service keys: writes need X-Service-Key (401 without, 403 wrong); reads stay open."""

from __future__ import annotations

import logging

import pytest

from tests.ims.support import (
    HUB_1,
    KEY,
    OTHER_KEY,
    SERVICE_KEY,
    SKU_A,
    reservation,
    snapshot,
    stock_of,
)

ADJUST = {"sku": SKU_A, "hub_id": HUB_1, "delta": 1, "reason": "count"}
WRITES = [
    pytest.param("post", "/v1/reservations", reservation("ORD-1"), id="reserve"),
    pytest.param("post", "/v1/reservations/batch", {"items": [reservation("ORD-1")]}, id="batch"),
    pytest.param("delete", "/v1/reservations/ORD-1", None, id="release"),
    pytest.param("post", "/v1/inventory/adjust", ADJUST, id="adjust"),
    pytest.param("put", "/v1/faults/validate", {"status": 500, "count": 1}, id="fault-put"),
    pytest.param("delete", "/v1/faults/validate", None, id="fault-delete"),
]
READS = [
    ("post", "/v1/validate", {"items": [{"sku": SKU_A, "hub_id": HUB_1}]}),
    ("get", "/v1/inventory", None),
    ("get", "/v1/inventory/events", None),
    ("get", "/v1/skus", None),
    ("get", "/v1/hubs", None),
    ("get", f"/v1/stock/{SKU_A}/{HUB_1}", None),
    ("get", "/healthz", None),
]


@pytest.fixture
def keyed_app(make_app):
    """Two keys configured (key rotation), fault injection on so its routes exist."""
    return make_app(service_keys=(SERVICE_KEY, OTHER_KEY), faults=True)


@pytest.mark.parametrize("method, path, body", WRITES)
def test_a_write_without_the_header_is_401_and_writes_nothing(keyed_app, db, method, path, body):
    before = snapshot(db)

    response = getattr(keyed_app.test_client(), method)(path, json=body)

    assert response.status_code == 401
    assert response.json["code"] == "unauthorized"
    assert "X-Service-Key" in response.json["message"]
    assert snapshot(db) == before


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("ims-test-key-3", id="wrong"),
        pytest.param(SERVICE_KEY + " ", id="key-plus-space"),
        pytest.param(SERVICE_KEY[:-1], id="prefix"),
        pytest.param("ключ-" + SERVICE_KEY, id="non-ascii"),
        pytest.param("é", id="latin-1"),
    ],
)
@pytest.mark.parametrize("method, path, body", WRITES)
def test_a_write_with_a_wrong_key_is_refused_and_writes_nothing(
    keyed_app, db, method, path, body, value
):
    before = snapshot(db)

    response = getattr(keyed_app.test_client(), method)(
        path, json=body, headers={"X-Service-Key": value}
    )

    assert response.status_code == (401 if value == "" else 403)
    assert response.json["code"] == ("unauthorized" if value == "" else "forbidden")
    assert snapshot(db) == before


@pytest.mark.parametrize("key", [SERVICE_KEY, OTHER_KEY])
def test_every_configured_key_is_accepted(keyed_app, db, key):
    client = keyed_app.test_client()

    reserved = client.post(
        "/v1/reservations", json=reservation("ORD-1"), headers={"X-Service-Key": key}
    )
    adjusted = client.post("/v1/inventory/adjust", json=ADJUST, headers={"X-Service-Key": key})
    released = client.delete("/v1/reservations/ORD-1", headers={"X-Service-Key": key})
    faulted = client.put("/v1/faults/validate", json={"count": 0}, headers={"X-Service-Key": key})
    cleared = client.delete("/v1/faults/validate", headers={"X-Service-Key": key})

    assert [
        reserved.status_code,
        adjusted.status_code,
        released.status_code,
        faulted.status_code,
        cleared.status_code,
    ] == [201, 200, 200, 200, 200]
    assert stock_of(db, SKU_A, HUB_1) == (6, 0)


@pytest.mark.parametrize("method, path, body", WRITES)
def test_without_configured_keys_every_write_is_401(make_app, db, method, path, body):
    app = make_app(service_keys=(), faults=True)
    before = snapshot(db)

    response = getattr(app.test_client(), method)(path, json=body, headers=KEY)

    assert response.status_code == 401
    assert response.json == {
        "code": "unauthorized",
        "message": "writes are disabled: the service has no IMS_SERVICE_KEYS",
    }
    assert snapshot(db) == before


@pytest.mark.parametrize("method, path, body", READS)
def test_reads_need_no_key_even_without_configured_keys(make_app, method, path, body):
    app = make_app(service_keys=())

    response = getattr(app.test_client(), method)(path, json=body)

    assert response.status_code == 200


def test_the_key_check_comes_before_the_body_check(client, db):
    before = snapshot(db)

    response = client.post("/v1/reservations", json={"nonsense": True})

    assert response.status_code == 401
    assert snapshot(db) == before


def test_no_key_appears_in_the_logs(keyed_app, caplog):
    client = keyed_app.test_client()

    with caplog.at_level(logging.DEBUG):
        client.post("/v1/reservations", json=reservation("ORD-1"), headers=KEY)
        client.post(
            "/v1/reservations",
            json=reservation("ORD-2"),
            headers={"X-Service-Key": "wrong-key-value"},
        )
        client.delete("/v1/reservations/ORD-1", headers=KEY)

    refusals = [r.getMessage() for r in caplog.records if r.name == "ims.auth"]
    assert refusals == ["write refused (forbidden): POST /v1/reservations from 127.0.0.1"]
    assert SERVICE_KEY not in caplog.text
    assert "wrong-key-value" not in caplog.text
