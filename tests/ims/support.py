"""Test data and helpers shared by the IMS tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
from typing import Any

from pymongo.database import Database

from ims.catalog import Catalog

MONGO_URI = os.environ.get("IMS_TEST_MONGO_URI", "mongodb://127.0.0.1:27018")

SKU_A, SKU_B, SKU_C = "SKU-90001", "SKU-90002", "SKU-90003"
HUB_1, HUB_2 = "HUB-TST-01", "HUB-TST-02"

TEST_CATALOG: Catalog = {
    "hubs": [
        {"hub_id": HUB_1, "name": "Test Hub One", "city": "Pune"},
        {"hub_id": HUB_2, "name": "Test Hub Two", "city": "Kochi"},
    ],
    "skus": [
        {"sku": SKU_A, "name": "Test Widget", "unit_price": "10.50"},
        {"sku": SKU_B, "name": "Test Gadget", "unit_price": "99.99"},
        {"sku": SKU_C, "name": "Test Gizmo", "unit_price": "5.00"},
    ],
    "stock": [
        {"sku": SKU_A, "hub_id": HUB_1, "quantity": 5},
        {"sku": SKU_A, "hub_id": HUB_2, "quantity": 0},
        {"sku": SKU_B, "hub_id": HUB_1, "quantity": 10},
        {"sku": SKU_B, "hub_id": HUB_2, "quantity": 3},
        # SKU_C has no stock line at all: it exists, but no hub carries it.
    ],
}

COLLECTIONS = ("hubs", "skus", "stock", "reservations", "locks")


def snapshot(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every document of every IMS collection, for "nothing was written" assertions."""
    return {
        name: sorted(db[name].find({}), key=lambda d: str(d["_id"]))
        for name in COLLECTIONS
    }


def stock_of(db: Database, sku: str, hub_id: str) -> tuple[int, int]:
    doc = db["stock"].find_one({"sku": sku, "hub_id": hub_id})
    return doc["available"], doc["reserved"]


def markers(db: Database, sku: str, hub_id: str) -> tuple[list[str], list[str]]:
    doc = db["stock"].find_one({"sku": sku, "hub_id": hub_id})
    return doc.get("holds", []), doc.get("returns", [])
