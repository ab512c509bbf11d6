"""Fault injection of the reference IMS: off by default, exact counts, SKU targeting."""

import pytest


@pytest.fixture
def app_config():
    return {"IMS_LOCK_WAIT": 5.0, "IMS_FAULTS": True}


def _validate(client, sku="SKU-A"):
    return client.post("/v1/validate", json={"items": [{"sku": sku, "hub_id": "HUB-1"}]})


def test_faults_are_refused_when_not_enabled(db):
    from ims.app import create_app

    client = create_app(db=db, test_config={"TESTING": True}).test_client()

    response = client.put("/v1/faults/validate", json={"status": 500, "count": 1})

    assert response.status_code == 404
    assert db["faults"].count_documents({}) == 0


def test_exactly_count_calls_fail_with_the_status_then_calls_succeed(client):
    assert client.put("/v1/faults/validate", json={"status": 503, "count": 2}).status_code == 200

    statuses = [_validate(client).status_code for _ in range(4)]

    assert statuses == [503, 503, 200, 200]
    assert _validate(client).get_json()["items"][0]["sku"] == "SKU-A"


def test_a_fault_naming_a_sku_fails_only_calls_asking_about_it(client):
    client.put("/v1/faults/validate", json={"status": 500, "count": 1, "sku": "SKU-B"})

    assert _validate(client, "SKU-A").status_code == 200
    assert _validate(client, "SKU-B").status_code == 500
    assert _validate(client, "SKU-B").status_code == 200


def test_clearing_stops_the_failures(client):
    client.put("/v1/faults/validate", json={"status": 500, "count": 5})

    assert client.delete("/v1/faults/validate").status_code == 200
    assert _validate(client).status_code == 200


@pytest.mark.parametrize("body", [{"status": 200}, {"count": -1}, {"delay_s": 100},
                                  {"sku": 5}])
def test_bad_fault_bodies_are_400(client, db, body):
    response = client.put("/v1/faults/validate", json=body)

    assert response.status_code == 400
    assert db["faults"].count_documents({}) == 0
