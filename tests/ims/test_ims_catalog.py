"""The shipped catalog file, its checks, the tables, and seeding the catalog into them."""

from __future__ import annotations

import copy
import json
import threading
from decimal import Decimal

import psycopg
import pytest

from ims import reservations, schema
from ims.catalog import CATALOG_PATH, CatalogError, check_catalog, load_catalog
from ims.reservations import Request
from tests.ims.support import (
    HUB_1,
    SKU_A,
    SKU_C,
    TEST_CATALOG,
    connect,
    count,
    snapshot,
    stock_of,
)


def test_shipped_catalog_shape():
    catalog = load_catalog()
    quantities = {(s["sku"], s["hub_id"]): s["quantity"] for s in catalog["stock"]}
    hubs = {h["hub_id"] for h in catalog["hubs"]}
    skus = {s["sku"] for s in catalog["skus"]}

    assert len(hubs) == 5
    assert len(skus) == 30
    assert all(h.startswith("HUB-") for h in hubs)
    assert all(s.startswith("SKU-") for s in skus)
    assert any(q == 0 for q in quantities.values())  # stocked nowhere at some hubs
    assert len(quantities) < len(hubs) * len(skus)  # some SKUs only at some hubs
    assert all(Decimal(s["unit_price"]) > 0 for s in catalog["skus"])


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda c: c["hubs"].append(dict(c["hubs"][0])), "hub_id values"),
        (lambda c: c["skus"].append(dict(c["skus"][0])), "sku values"),
        (lambda c: c["skus"][0].update(unit_price="1.005"), "at most 2 decimals"),
        (lambda c: c["skus"][0].update(unit_price="-1"), "at most 2 decimals"),
        (lambda c: c["skus"][0].update(unit_price="ten"), "not a decimal"),
        (
            lambda c: c["stock"].append({"sku": "SKU-0", "hub_id": HUB_1, "quantity": 1}),
            "unknown",
        ),
        (lambda c: c["stock"].append(dict(c["stock"][0])), "appears twice"),
        (lambda c: c["stock"][0].update(quantity=-1), "quantity"),
        (lambda c: c["stock"][0].update(quantity=1.5), "quantity"),
    ],
)
def test_catalog_check_rejects_mistakes(break_it, message):
    catalog = copy.deepcopy(TEST_CATALOG)
    break_it(catalog)

    with pytest.raises(CatalogError, match=message):
        check_catalog(catalog)


def test_load_catalog_from_a_path(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(TEST_CATALOG))

    assert load_catalog(path) == TEST_CATALOG
    assert load_catalog(CATALOG_PATH) == load_catalog()


def test_create_schema_twice_changes_nothing(db):
    before = snapshot(db)

    schema.create_schema(db)

    assert snapshot(db) == before


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE stock SET reserved = on_hand + 1", id="reserved-over-on-hand"),
        pytest.param("UPDATE stock SET reserved = -1", id="reserved-negative"),
        pytest.param("UPDATE stock SET on_hand = -1, reserved = -1", id="on-hand-negative"),
        pytest.param(
            "INSERT INTO stock (sku, hub_id, on_hand) VALUES ('SKU-0', 'HUB-TST-01', 1)",
            id="unknown-sku",
        ),
        pytest.param(
            "INSERT INTO reservations (order_id, sku, hub_id, quantity, state, available)"
            f" VALUES ('O', '{SKU_C}', '{HUB_1}', 1, 'reserved', 0)",
            id="reservation-without-stock-line",
        ),
    ],
)
def test_the_tables_refuse_impossible_stock(db, statement):
    before = snapshot(db)

    with pytest.raises(psycopg.errors.IntegrityError):
        db.execute(statement)

    assert snapshot(db) == before


def test_seed_shipped_catalog_is_idempotent(db):
    fresh = load_catalog()
    db.execute("TRUNCATE stock, skus, hubs CASCADE")

    first = schema.seed(db, fresh)
    second = schema.seed(db, fresh)

    assert first == {"hubs": 5, "skus": 30, "stock_inserted": len(fresh["stock"]), "stock_reset": 0}
    assert second == {"hubs": 5, "skus": 30, "stock_inserted": 0, "stock_reset": 0}
    assert (count(db, "hubs"), count(db, "skus")) == (5, 30)
    assert count(db, "stock") == len(fresh["stock"])


def test_seed_never_resets_stock_that_moved(db):
    reservations.reserve(db, Request("ORD-1", SKU_A, HUB_1, 2))

    schema.seed(db, TEST_CATALOG)

    assert stock_of(db, SKU_A, HUB_1) == (5, 2)
    assert reservations.get(db, "ORD-1")["state"] == "reserved"


def test_seed_updates_names_and_prices(db):
    catalog = copy.deepcopy(TEST_CATALOG)
    catalog["skus"][0]["unit_price"] = "11.00"
    catalog["hubs"][0]["name"] = "Renamed Hub"

    schema.seed(db, catalog)

    assert db.execute("SELECT unit_price FROM skus WHERE sku = %s", (SKU_A,)).fetchone() == (
        Decimal("11.00"),
    )
    assert db.execute("SELECT name FROM hubs WHERE hub_id = %s", (HUB_1,)).fetchone() == (
        "Renamed Hub",
    )


def test_seed_adds_new_stock_lines_only(db):
    reservations.reserve(db, Request("ORD-1", SKU_A, HUB_1, 2))
    catalog = copy.deepcopy(TEST_CATALOG)
    catalog["stock"].append({"sku": SKU_C, "hub_id": HUB_1, "quantity": 7})
    catalog["stock"][0]["quantity"] = 500  # ignored: that line exists

    counts = schema.seed(db, catalog)

    assert counts["stock_inserted"] == 1
    assert stock_of(db, SKU_C, HUB_1) == (7, 0)
    assert stock_of(db, SKU_A, HUB_1) == (5, 2)


def test_seed_reset_restores_catalog_stock_and_drops_reservations(db):
    reservations.reserve(db, Request("ORD-1", SKU_A, HUB_1, 2))
    db.execute("UPDATE stock SET on_hand = 99 WHERE sku = %s AND hub_id = %s", (SKU_A, HUB_1))

    counts = schema.seed(db, TEST_CATALOG, reset=True)

    assert counts["stock_reset"] == len(TEST_CATALOG["stock"])
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)
    assert count(db, "reservations") == 0


def test_workers_starting_at_once_all_create_and_seed_without_error(db, ims_database):
    """Every gunicorn worker runs create_schema + seed at start-up, at the same moment."""
    db.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    workers = 6
    barrier = threading.Barrier(workers)
    results: list[object] = []

    def start_up() -> None:
        with connect(ims_database) as conn:
            barrier.wait()
            try:
                schema.create_schema(conn)
                results.append(schema.seed(conn, TEST_CATALOG))
            except Exception as exc:  # noqa: BLE001  (collected and asserted below)
                results.append(exc)

    threads = [threading.Thread(target=start_up) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r["stock_inserted"] for r in results) == [0] * (workers - 1) + [4]
    assert count(db, "stock") == len(TEST_CATALOG["stock"])


def test_list_endpoints(client):
    skus = client.get("/v1/skus")
    hubs = client.get("/v1/hubs")

    assert skus.status_code == 200
    assert skus.json == {"skus": TEST_CATALOG["skus"]}
    assert hubs.json == {"hubs": TEST_CATALOG["hubs"]}


def test_list_endpoints_serve_the_shipped_catalog(db, client):
    db.execute("TRUNCATE stock, skus, hubs CASCADE")
    schema.seed(db, load_catalog())

    skus = client.get("/v1/skus").json["skus"]

    assert [s["sku"] for s in skus] == sorted(s["sku"] for s in load_catalog()["skus"])
    assert skus[0]["unit_price"] == "599.00"
