"""Fault injection of the reference IMS: off by default, exact counts, SKU targeting."""

import pytest

from tests.ims.support import KEY, count


@pytest.fixture
def client(make_app):
    return make_app(faults=True).test_client()


def _validate(client, sku="SKU-A"):
    return client.post("/v1/validate", json={"items": [{"sku": sku, "hub_id": "HUB-1"}]})


def _fault(client, **fault):
    return client.put("/v1/faults/validate", json=fault, headers=KEY)


def test_faults_are_refused_when_not_enabled(make_app, db):
    client = make_app(faults=False).test_client()

    put = client.put("/v1/faults/validate", json={"status": 500, "count": 1}, headers=KEY)
    delete = client.delete("/v1/faults/validate", headers=KEY)

    assert (put.status_code, delete.status_code) == (404, 404)
    assert count(db, "faults") == 0


def test_only_validate_can_fail(client, db):
    response = client.put("/v1/faults/reservations", json={"count": 1}, headers=KEY)

    assert response.status_code == 404
    assert count(db, "faults") == 0


def test_exactly_count_calls_fail_with_the_status_then_calls_succeed(client):
    put = _fault(client, status=503, count=2)

    statuses = [_validate(client).status_code for _ in range(4)]

    assert put.json == {
        "operation": "validate",
        "status": 503,
        "count": 2,
        "sku": None,
        "delay_s": 0,
    }
    assert statuses == [503, 503, 200, 200]
    assert _validate(client).get_json()["items"][0]["sku"] == "SKU-A"


def test_the_injected_error_is_json(client):
    _fault(client, status=500, count=1)

    response = _validate(client)

    assert response.json == {"code": "injected_fault", "message": "injected failure 1 of 1"}


def test_a_fault_naming_a_sku_fails_only_calls_asking_about_it(client):
    _fault(client, status=500, count=1, sku="SKU-B")

    assert _validate(client, "SKU-A").status_code == 200
    assert _validate(client, "SKU-B").status_code == 500
    assert _validate(client, "SKU-B").status_code == 200


def test_setting_a_fault_again_restarts_its_count(client):
    _fault(client, status=500, count=1)
    _validate(client)

    _fault(client, status=502, count=1)

    assert [_validate(client).status_code for _ in range(2)] == [502, 200]


def test_clearing_stops_the_failures(client, db):
    _fault(client, status=500, count=5)

    cleared = client.delete("/v1/faults/validate", headers=KEY)

    assert cleared.json == {"operation": "validate", "cleared": True}
    assert _validate(client).status_code == 200
    assert count(db, "faults") == 0


@pytest.mark.parametrize(
    "body", [{"status": 200}, {"count": -1}, {"delay_s": 100}, {"sku": 5}, {"status": "500"}]
)
def test_bad_fault_bodies_are_400(client, db, body):
    response = _fault(client, **body)

    assert response.status_code == 400
    assert count(db, "faults") == 0
