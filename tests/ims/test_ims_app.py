"""App-level behaviour: health, JSON errors everywhere, settings."""

from __future__ import annotations

import json

import pytest
from pymongo import MongoClient

from ims.__main__ import main as cli
from ims.app import build_app, create_app, get_store
from ims.catalog import load_catalog
from ims.config import DEFAULT_MONGO_URI, ImsSettings
from tests.ims.support import MONGO_URI, snapshot


@pytest.fixture
def dead_store_app():
    client = MongoClient(
        "mongodb://127.0.0.1:9", serverSelectionTimeoutMS=200, connectTimeoutMS=200
    )
    yield create_app(db=client["ims"], test_config={"IMS_STOCK_LOCKS": True})
    client.close()


def test_healthz_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_healthz_503_when_mongo_is_down(dead_store_app):
    response = dead_store_app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.json["status"] == "unavailable"


def test_store_down_is_503_json_with_retry_after(dead_store_app):
    body = {"items": [{"sku": "SKU-1", "hub_id": "HUB-1"}]}

    response = dead_store_app.test_client().post("/v1/validate", json=body)

    assert response.status_code == 503
    assert response.json["code"] == "store_unavailable"
    assert response.headers["Retry-After"] == "1"


def test_unknown_route_is_404_json(client):
    response = client.get("/v1/nope")

    assert response.status_code == 404
    assert response.json["code"] == "not_found"
    assert response.json["message"]


def test_wrong_method_is_405_json(client, db):
    before = snapshot(db)

    response = client.put("/v1/reservations/ORD-1", json={})

    assert response.status_code == 405
    assert response.json["code"] == "method_not_allowed"
    assert "DELETE" in response.headers["Allow"]
    assert snapshot(db) == before


def test_unexpected_error_is_500_json(app, client, monkeypatch):
    def broken():
        raise RuntimeError("bug")

    monkeypatch.setattr(get_store(app), "list_hubs", broken)

    response = client.get("/v1/hubs")

    assert response.status_code == 500
    assert response.json == {
        "code": "internal_error",
        "message": "internal server error",
    }


def test_oversized_body_is_413_json(db):
    app = create_app(db=db, test_config={"MAX_CONTENT_LENGTH": 1024})

    response = app.test_client().post(
        "/v1/validate", data="x" * 4096, content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json["code"] == "request_entity_too_large"


def test_settings_from_env_defaults():
    settings = ImsSettings.from_env({})

    assert settings.mongo_uri == DEFAULT_MONGO_URI
    assert settings.db_name == "ims"
    assert settings.seed_on_start is True
    assert settings.stock_locks is None
    assert settings.faults is False


def test_settings_from_env():
    settings = ImsSettings.from_env(
        {
            "IMS_MONGO_URI": "mongodb://db:27017",
            "IMS_DB": "ims_x",
            "IMS_SEED_ON_START": "false",
            "IMS_LOCK_TTL_SECONDS": "30",
            "IMS_LOCK_WAIT_SECONDS": "2.5",
            "IMS_STOCK_LOCKS": "on",
            "IMS_FAULTS": "on",
        }
    )

    assert settings == ImsSettings(
        "mongodb://db:27017", "ims_x", False, 30.0, 2.5, True, True
    )
    assert settings.app_config() == {
        "IMS_LOCK_TTL": 30.0,
        "IMS_LOCK_WAIT": 2.5,
        "IMS_STOCK_LOCKS": True,
        "IMS_FAULTS": True,
    }


def test_settings_reject_a_bad_flag():
    with pytest.raises(ValueError, match="not a boolean"):
        ImsSettings.from_env({"IMS_STOCK_LOCKS": "maybe"})


def test_stock_locks_follow_the_server(store, db):
    # FerretDB (the local stack) does not isolate updates: leases must be on there.
    is_ferretdb = "ferretdbVersion" in db.client.admin.command("buildInfo")

    assert store.stock_locks is is_ferretdb


def test_wsgi_app_seeds_the_shipped_catalog(db):
    app = build_app(ImsSettings(mongo_uri=MONGO_URI, db_name=db.name))

    hubs = app.test_client().get("/v1/hubs").json["hubs"]

    assert len(hubs) == len(load_catalog()["hubs"])
    assert db["stock"].count_documents({}) == len(load_catalog()["stock"])


def test_cli_seed_and_recover(db, monkeypatch, capsys):
    monkeypatch.setenv("IMS_MONGO_URI", MONGO_URI)
    monkeypatch.setenv("IMS_DB", db.name)

    assert cli(["seed"]) == 0
    seeded = json.loads(capsys.readouterr().out)
    assert cli(["recover", "--older-than", "0"]) == 0
    recovered = json.loads(capsys.readouterr().out)

    assert seeded["stock_inserted"] == len(load_catalog()["stock"])
    assert recovered == {"settled": 0, "busy": 0, "markers_cleared": 0}
