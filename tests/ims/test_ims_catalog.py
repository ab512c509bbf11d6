"""The shipped catalog file, its checks, and seeding it into the database."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest

from ims.app import create_app, get_store
from ims.catalog import CATALOG_PATH, CatalogError, check_catalog, load_catalog
from ims.store import seed
from tests.ims.support import HUB_1, SKU_A, TEST_CATALOG, stock_of


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
            lambda c: c["stock"].append(
                {"sku": "SKU-0", "hub_id": HUB_1, "quantity": 1}
            ),
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


def test_seed_shipped_catalog_is_idempotent(db):
    catalog = load_catalog()

    first = seed(db, catalog)
    second = seed(db, catalog)

    assert first == {
        "hubs": 5,
        "skus": 30,
        "stock_inserted": len(catalog["stock"]),
        "stock_reset": 0,
    }
    assert second == {"hubs": 5, "skus": 30, "stock_inserted": 0, "stock_reset": 0}
    assert db["hubs"].count_documents({}) == 5
    assert db["skus"].count_documents({}) == 30
    assert db["stock"].count_documents({}) == len(catalog["stock"])


def test_seed_never_resets_stock_that_moved(store, db):
    store.reservations.reserve("ORD-1", SKU_A, HUB_1, 2)

    store.seed(TEST_CATALOG)

    assert stock_of(db, SKU_A, HUB_1) == (3, 2)
    assert store.reservations.get("ORD-1")["state"] == "reserved"


def test_seed_updates_names_and_prices(store, db):
    catalog = copy.deepcopy(TEST_CATALOG)
    catalog["skus"][0]["unit_price"] = "11.00"
    catalog["hubs"][0]["name"] = "Renamed Hub"

    store.seed(catalog)

    assert db["skus"].find_one({"_id": SKU_A})["unit_price"] == "11.00"
    assert db["hubs"].find_one({"_id": HUB_1})["name"] == "Renamed Hub"


def test_seed_adds_new_stock_lines_only(store, db):
    store.reservations.reserve("ORD-1", SKU_A, HUB_1, 2)
    catalog = copy.deepcopy(TEST_CATALOG)
    catalog["stock"].append({"sku": "SKU-90003", "hub_id": HUB_1, "quantity": 7})
    catalog["stock"][0]["quantity"] = 500  # ignored: that line exists

    counts = store.seed(catalog)

    assert counts["stock_inserted"] == 1
    assert stock_of(db, "SKU-90003", HUB_1) == (7, 0)
    assert stock_of(db, SKU_A, HUB_1) == (3, 2)


def test_seed_reset_restores_catalog_stock_and_drops_reservations(store, db):
    store.reservations.reserve("ORD-1", SKU_A, HUB_1, 2)

    counts = store.seed(TEST_CATALOG, reset=True)

    assert counts["stock_reset"] == len(TEST_CATALOG["stock"])
    assert stock_of(db, SKU_A, HUB_1) == (5, 0)
    assert db["reservations"].count_documents({}) == 0


def test_list_endpoints(client):
    skus = client.get("/v1/skus")
    hubs = client.get("/v1/hubs")

    assert skus.status_code == 200
    assert skus.json == {
        "skus": [
            {"sku": s["sku"], "name": s["name"], "unit_price": s["unit_price"]}
            for s in TEST_CATALOG["skus"]
        ]
    }
    assert hubs.json == {"hubs": TEST_CATALOG["hubs"]}


def test_list_endpoints_serve_the_shipped_catalog(db):
    app = create_app(db=db)
    get_store(app).seed(load_catalog())

    skus = app.test_client().get("/v1/skus").json["skus"]

    assert [s["sku"] for s in skus] == sorted(s["sku"] for s in load_catalog()["skus"])
