"""Inventory in MongoDB (database ``ims``): catalog, stock per (sku, hub_id), reservations.

Collections
    hubs          ``{_id: hub_id, name, city}``
    skus          ``{_id: sku, name, unit_price}``; the price is a decimal string because
                  FerretDB 1.24 has no Decimal128 (it drops the connection)
    stock         ``{sku, hub_id, available, reserved, holds: [...], returns: [...]}``,
                  unique on (sku, hub_id); ``holds``/``returns`` hold the order ids of
                  reservations in flight (see ``ims.reservations``)
    reservations  one document per order_id (unique), see ``ims.reservations``
    locks         leases, see ``ims.locks``

Atomicity: on MongoDB a conditional ``find_one_and_update`` is atomic on its own. FerretDB
1.24 applies updates as read-modify-write without isolation, so when ``stock_locks`` is on
(default: when the server says it is FerretDB) every stock write also runs under a
``stock:<sku>:<hub_id>`` lease.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from ims.catalog import Catalog
from ims.errors import Busy
from ims.locks import Locks, LockTimeout, utcnow
from ims.reservations import Reservations

DUPLICATE_KEY = 11000


class InventoryStore:
    def __init__(
        self,
        db: Database,
        *,
        lock_ttl: float = 10.0,
        lock_wait: float = 5.0,
        stock_locks: bool | None = None,
    ) -> None:
        self.db = db
        self.hubs = db["hubs"]
        self.skus = db["skus"]
        self.stock = db["stock"]
        self.locks = Locks(db["locks"], ttl=lock_ttl)
        self.lock_wait = lock_wait
        self._stock_locks = stock_locks
        self.reservations = Reservations(self, db["reservations"])

    def ensure_indexes(self) -> None:
        self.stock.create_index(
            [("sku", ASCENDING), ("hub_id", ASCENDING)], unique=True
        )
        self.reservations.ensure_indexes()

    def seed(self, catalog: Catalog, reset: bool = False) -> dict[str, int]:
        """Upsert hubs and SKUs; create missing stock lines. Stock that exists is left
        alone unless ``reset``, which restores catalog quantities and drops reservations."""
        self.ensure_indexes()
        now = utcnow()
        hubs = [
            (
                {"_id": h["hub_id"]},
                {"$set": {"name": h["name"], "city": h["city"], "updated_at": now}},
            )
            for h in catalog["hubs"]
        ]
        skus = [
            (
                {"_id": s["sku"]},
                {
                    "$set": {
                        "name": s["name"],
                        "unit_price": s["unit_price"],
                        "updated_at": now,
                    }
                },
            )
            for s in catalog["skus"]
        ]
        _bulk_upsert(self.hubs, hubs)
        _bulk_upsert(self.skus, skus)
        # Insert-only for stock: an upsert would rewrite (on FerretDB) a line being reserved.
        existing = {
            (d["sku"], d["hub_id"])
            for d in self.stock.find({}, {"sku": 1, "hub_id": 1})
        }
        missing = [
            new_stock_line(line["sku"], line["hub_id"], line["quantity"])
            for line in catalog["stock"]
            if (line["sku"], line["hub_id"]) not in existing
        ]
        inserted = _insert_ignoring_duplicates(self.stock, missing)
        reset_lines = 0
        if reset:
            self.reservations.delete_all()
            for line in catalog["stock"]:
                with self.stock_guard(line["sku"], line["hub_id"]):
                    self.stock.update_one(
                        {"sku": line["sku"], "hub_id": line["hub_id"]},
                        {
                            "$set": new_stock_line(
                                line["sku"], line["hub_id"], line["quantity"]
                            )
                        },
                    )
                reset_lines += 1
        return {
            "hubs": len(hubs),
            "skus": len(skus),
            "stock_inserted": inserted,
            "stock_reset": reset_lines,
        }

    def ping(self) -> None:
        self.db.client.admin.command("ping")

    def list_hubs(self) -> list[dict[str, Any]]:
        return [
            {"hub_id": d["_id"], "name": d["name"], "city": d["city"]}
            for d in self.hubs.find({}).sort("_id", ASCENDING)
        ]

    def list_skus(self) -> list[dict[str, Any]]:
        return [
            {"sku": d["_id"], "name": d["name"], "unit_price": d["unit_price"]}
            for d in self.skus.find({}).sort("_id", ASCENDING)
        ]

    def sku_exists(self, sku: str) -> bool:
        return self.skus.find_one({"_id": sku}, {"_id": 1}) is not None

    def hub_exists(self, hub_id: str) -> bool:
        return self.hubs.find_one({"_id": hub_id}, {"_id": 1}) is not None

    def validate_pairs(self, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Existence of each (sku, hub_id), in request order; one query per collection."""
        known_skus = _existing_ids(self.skus, {sku for sku, _ in pairs})
        known_hubs = _existing_ids(self.hubs, {hub for _, hub in pairs})
        results = []
        for sku, hub_id in pairs:
            sku_exists, hub_exists = sku in known_skus, hub_id in known_hubs
            results.append(
                {
                    "sku": sku,
                    "hub_id": hub_id,
                    "sku_exists": sku_exists,
                    "hub_exists": hub_exists,
                    "valid": sku_exists and hub_exists,
                }
            )
        return results

    def get_stock(self, sku: str, hub_id: str) -> dict[str, Any] | None:
        doc = self.stock.find_one({"sku": sku, "hub_id": hub_id})
        if doc is None:
            return None
        return {
            "sku": sku,
            "hub_id": hub_id,
            "available": doc["available"],
            "reserved": doc["reserved"],
        }

    @property
    def stock_locks(self) -> bool:
        if self._stock_locks is None:
            build = self.db.client.admin.command("buildInfo")
            self._stock_locks = "ferretdbVersion" in build
        return self._stock_locks

    def stock_guard(self, sku: str, hub_id: str) -> AbstractContextManager[None]:
        """Serialize writes to one stock line where the server cannot do it for us."""
        if not self.stock_locks:
            return nullcontext()
        return self._stock_lease(f"stock:{sku}:{hub_id}")

    @contextmanager
    def _stock_lease(self, key: str) -> Iterator[None]:
        try:
            token = self.locks.acquire(key, wait=self.lock_wait)
        except LockTimeout:
            raise Busy(
                "stock line busy, retry", code="stock_busy", retry_after=1
            ) from None
        try:
            yield
        finally:
            self.locks.release(key, token)


def seed(db: Database, catalog: Catalog, reset: bool = False) -> dict[str, int]:
    return InventoryStore(db).seed(catalog, reset=reset)


def new_stock_line(sku: str, hub_id: str, quantity: int) -> dict[str, Any]:
    return {
        "sku": sku,
        "hub_id": hub_id,
        "available": quantity,
        "reserved": 0,
        "holds": [],
        "returns": [],
    }


def _existing_ids(collection: Collection, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    return {d["_id"] for d in collection.find({"_id": {"$in": list(ids)}}, {"_id": 1})}


def _bulk_upsert(collection: Collection, operations: list[tuple[dict, dict]]) -> None:
    """Apply (filter, update) upserts one by one (the catalog is small). Not
    ``bulk_write``: FerretDB 1.24 can answer a bulk upsert without ``nModified``, which
    pymongo turns into a KeyError; two gunicorn workers seeding at once hit it. A racing
    upsert's duplicate key is retried once, as an update."""
    for query, update in operations:
        try:
            collection.update_one(query, update, upsert=True)
        except DuplicateKeyError:
            collection.update_one(query, update, upsert=True)


def _insert_ignoring_duplicates(
    collection: Collection, documents: list[dict[str, Any]]
) -> int:
    if not documents:
        return 0
    try:
        return len(collection.insert_many(documents, ordered=False).inserted_ids)
    except BulkWriteError as exc:
        if exc.details.get("writeConcernErrors") or any(
            e["code"] != DUPLICATE_KEY for e in exc.details["writeErrors"]
        ):
            raise
        return exc.details["nInserted"]
