"""App-level behaviour: health, JSON errors everywhere, PostgreSQL down, settings, start-up."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing

import psycopg
import pytest

from devstack import postgres
from ims import store
from ims.__main__ import main as cli
from ims.app import build_app
from ims.catalog import load_catalog
from ims.config import DEFAULT_POSTGRES_URL, ImsSettings
from ims.db import Database, get_database
from tests.ims.support import HUB_1, KEY, SKU_A, count, reservation, snapshot

# Nothing listens on port 9 of the loopback: every connection attempt is refused.
DEAD_SERVER = "host=127.0.0.1 port=9 user=oms dbname=ims connect_timeout=1"


@pytest.fixture
def dead_store_client(make_app):
    return make_app(postgres_url=DEAD_SERVER, pool_timeout_s=0.5).test_client()


def test_healthz_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_healthz_503_when_postgres_is_down(dead_store_client):
    response = dead_store_client.get("/healthz")

    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "postgres": "down"}


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "/v1/validate", {"items": [{"sku": SKU_A, "hub_id": HUB_1}]}),
        ("post", "/v1/reservations", reservation("ORD-1")),
        ("post", "/v1/reservations/batch", {"items": [reservation("ORD-1")]}),
        ("get", "/v1/reservations/ORD-1", None),
        ("delete", "/v1/reservations/ORD-1", None),
        ("get", "/v1/inventory", None),
        (
            "post",
            "/v1/inventory/adjust",
            {"sku": SKU_A, "hub_id": HUB_1, "delta": 1, "reason": "count"},
        ),
        ("get", "/v1/inventory/events", None),
        ("get", "/v1/skus", None),
        ("get", "/v1/hubs", None),
        ("get", f"/v1/stock/{SKU_A}/{HUB_1}", None),
    ],
)
def test_store_down_is_503_json_with_retry_after(dead_store_client, method, path, body):
    response = getattr(dead_store_client, method)(path, json=body, headers=KEY)

    assert response.status_code == 503
    assert response.json == {
        "code": "store_unavailable",
        "message": "inventory store unavailable",
    }
    assert response.headers["Retry-After"] == "1"


def test_unknown_route_is_404_json(client):
    response = client.get("/v1/nope")

    assert response.status_code == 404
    assert response.json["code"] == "not_found"
    assert response.json["message"]


def test_wrong_method_is_405_json(client, db):
    before = snapshot(db)

    response = client.put("/v1/reservations/ORD-1", json={}, headers=KEY)

    assert response.status_code == 405
    assert response.json["code"] == "method_not_allowed"
    assert "DELETE" in response.headers["Allow"]
    assert snapshot(db) == before


def test_unexpected_error_is_500_json(client, monkeypatch):
    def broken(conn):
        raise RuntimeError("bug")

    monkeypatch.setattr(store, "list_hubs", broken)

    response = client.get("/v1/hubs")

    assert response.status_code == 500
    assert response.json == {"code": "internal_error", "message": "internal server error"}


def test_oversized_body_is_413_json(make_app):
    app = make_app(test_config={"MAX_CONTENT_LENGTH": 1024})

    response = app.test_client().post(
        "/v1/validate", data="x" * 4096, content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json["code"] == "request_entity_too_large"


def test_settings_from_env_defaults():
    settings = ImsSettings.from_env({})

    assert settings == ImsSettings()
    assert settings.postgres_url == DEFAULT_POSTGRES_URL == "postgresql://oms@127.0.0.1:54329/ims"
    assert settings.service_keys == ()
    assert (settings.seed_on_start, settings.faults) == (True, False)
    assert (settings.max_items, settings.max_batch, settings.pool_size) == (10_000, 500, 4)


def test_settings_from_env():
    settings = ImsSettings.from_env(
        {
            "IMS_POSTGRES_URL": "postgresql://ims@db:5432/stock",
            "IMS_SERVICE_KEYS": " key-one, key-two ,,",
            "IMS_SEED_ON_START": "false",
            "IMS_FAULTS": "on",
            "IMS_MAX_ITEMS": "20",
            "IMS_MAX_BATCH": "30",
            "IMS_POOL_SIZE": "8",
        }
    )

    assert settings == ImsSettings(
        postgres_url="postgresql://ims@db:5432/stock",
        service_keys=("key-one", "key-two"),
        seed_on_start=False,
        faults=True,
        max_items=20,
        max_batch=30,
        pool_size=8,
    )


def test_settings_never_show_the_keys():
    settings = ImsSettings.from_env({"IMS_SERVICE_KEYS": "s3cret-key"})

    assert "s3cret-key" not in repr(settings)


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("IMS_FAULTS", "maybe", "IMS_FAULTS: not a boolean"),
        ("IMS_SEED_ON_START", "2", "IMS_SEED_ON_START: not a boolean"),
        ("IMS_MAX_BATCH", "many", "IMS_MAX_BATCH: not a whole number"),
        ("IMS_POOL_SIZE", "0", "IMS_POOL_SIZE: must be at least 1"),
    ],
)
def test_settings_reject_bad_values_naming_the_variable(variable, value, message):
    with pytest.raises(ValueError, match=message):
        ImsSettings.from_env({variable: value})


@pytest.fixture
def deployed(ims_settings):
    """``build_app`` as wsgi.py calls it, on an empty test database; pools closed after."""
    apps = []

    def build(**changes):
        apps.append(build_app(dataclasses.replace(ims_settings, **changes)))
        return apps[-1]

    yield build
    for app in apps:
        get_database(app).close()


def test_wsgi_app_creates_the_tables_and_seeds_the_shipped_catalog(db, deployed):
    db.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")

    app = deployed(seed_on_start=True)
    hubs = app.test_client().get("/v1/hubs").json["hubs"]

    assert len(hubs) == len(load_catalog()["hubs"])
    assert count(db, "stock") == len(load_catalog()["stock"])


def test_wsgi_app_without_seeding_creates_empty_tables(db, deployed):
    db.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")

    app = deployed(seed_on_start=False)

    assert app.test_client().get("/v1/hubs").json == {"hubs": []}
    assert count(db, "stock") == 0


def test_wsgi_app_fails_loudly_when_postgres_never_answers():
    settings = ImsSettings(postgres_url=DEAD_SERVER, pool_timeout_s=0.2)

    with pytest.raises(psycopg.OperationalError):
        build_app(settings, attempts=1)


def test_cli_seed_and_reset(db, ims_database, monkeypatch, capsys):
    db.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    monkeypatch.setenv("IMS_POSTGRES_URL", postgres.conninfo(ims_database))

    assert cli(["seed"]) == 0
    seeded = json.loads(capsys.readouterr().out)
    db.execute("UPDATE stock SET on_hand = on_hand + 1")
    assert cli(["seed", "--reset"]) == 0
    reset = json.loads(capsys.readouterr().out)

    stock = len(load_catalog()["stock"])
    assert seeded == {"hubs": 5, "skus": 30, "stock_inserted": stock, "stock_reset": 0}
    assert reset == {"hubs": 5, "skus": 30, "stock_inserted": 0, "stock_reset": stock}
    catalog_total = sum(line["quantity"] for line in load_catalog()["stock"])
    assert db.execute("SELECT sum(on_hand) FROM stock").fetchone()[0] == catalog_total


def test_a_forked_process_makes_its_own_pool_and_leaves_the_parents_alone(ims_settings):
    # What gunicorn does to an app built before its fork (--preload, or our own tests).
    database = Database(ims_settings.postgres_url, size=1)
    ctx = multiprocessing.get_context("fork")
    sessions = ctx.Queue()

    def child() -> None:
        with database.connection() as conn:
            sessions.put(conn.info.backend_pid)

    try:
        with database.connection() as conn:
            parent_session = conn.info.backend_pid
        process = ctx.Process(target=child)
        process.start()
        child_session = sessions.get(timeout=60)
        process.join(timeout=60)
        with database.connection() as conn:
            session_after = conn.info.backend_pid
            conn.execute("SELECT 1").fetchone()
    finally:
        database.close()

    assert process.exitcode == 0
    assert child_session != parent_session
    assert session_after == parent_session  # the child never touched the parent's
