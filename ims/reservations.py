"""Reservations: atomic, idempotent by order_id, and safe across crashes without transactions.

Life cycle (``state`` of the reservation document)::

    pending ──► reserved ──► releasing ──► released
        └─────► rejected        (not enough stock: nothing was taken)

Reserve, step by step, all under a lease on ``order:<order_id>`` (so one request at a time
works on an order; a duplicate request waits for it, then answers from the stored result):

1. insert the reservation as ``pending`` (unique ``order_id``) before stock is touched, so
   a journal entry always exists first;
2. one conditional update of the stock line that also records the order in ``holds``:
   ``{available: {$gte: q}, holds: {$ne: order_id}}`` →
   ``{$inc: {available: -q, reserved: q}, $push: {holds: order_id}}``;
3. mark the reservation ``reserved`` (or ``rejected`` if step 2 matched nothing), then
   pull the order from ``holds``.

Crash after 1: ``pending``, stock untouched. After 2: ``pending`` and the ``holds`` marker.
Between the two writes of 3: final state and a stale marker. Whoever touches the order next
once the lease has expired (a repeated POST or DELETE, or ``recover()``) re-runs from 2:
the ``$ne`` condition makes a second decrement impossible while the marker is there, and the
marker tells the re-run that the first decrement happened. A stale marker blocks nothing
(the order is final) and ``recover()`` removes it. Release mirrors this with ``releasing``
and the ``returns`` marker, so stock comes back exactly once.

The one window left is the lease's: a request that stalls for longer than the lease TTL
exactly between re-checking its lease and its stock write could apply once more after a
take-over finished. MongoDB transactions would close it; FerretDB has none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from ims.errors import Busy, Conflict, NotFound
from ims.locks import LockLost, LockTimeout, utcnow

if TYPE_CHECKING:
    from ims.store import InventoryStore

PENDING, RESERVED, REJECTED = "pending", "reserved", "rejected"
RELEASING, RELEASED = "releasing", "released"
TRANSITIONAL = (PENDING, RELEASING)


class Reservations:
    def __init__(self, store: InventoryStore, collection: Collection) -> None:
        self.store = store
        self.docs = collection

    def ensure_indexes(self) -> None:
        self.docs.create_index("order_id", unique=True)
        self.docs.create_index([("state", ASCENDING), ("updated_at", ASCENDING)])

    def delete_all(self) -> None:
        self.docs.delete_many({})

    def get(self, order_id: str) -> dict[str, Any] | None:
        doc = self.docs.find_one({"order_id": order_id})
        return None if doc is None else _public(doc)

    def reserve(
        self, order_id: str, sku: str, hub_id: str, quantity: int
    ) -> tuple[dict[str, Any], bool]:
        """Reserve once per order_id. Returns (reservation, decided_by_this_call)."""
        request = {"sku": sku, "hub_id": hub_id, "quantity": quantity}
        doc = self.docs.find_one({"order_id": order_id})
        if doc is None:
            self._check_catalog(sku, hub_id)  # before any write, lease included
        elif doc["state"] not in TRANSITIONAL:
            _check_same_request(doc, request)
            return _public(doc), False
        with self._order_lease(order_id) as token:
            doc = self.docs.find_one({"order_id": order_id})
            created = doc is None
            if doc is None:
                doc = self.insert_pending(order_id, request)
            else:
                _check_same_request(doc, request)
            return _public(self.settle(doc, token)), created

    def release(self, order_id: str) -> dict[str, Any]:
        """Give a reservation's stock back, once. Answers the same on every repeat."""
        doc = self.docs.find_one({"order_id": order_id})
        if doc is None:
            return {"order_id": order_id, "released": False, "state": "not_found"}
        if doc["state"] in (RESERVED, *TRANSITIONAL):
            with self._order_lease(order_id) as token:
                doc = self.docs.find_one({"order_id": order_id})
                if doc["state"] == PENDING:
                    doc = self.apply_reservation(doc, token)
                if doc["state"] == RESERVED:
                    doc = self._transition(order_id, RESERVED, {"state": RELEASING})
                doc = self.settle(doc, token)
        return {
            "order_id": order_id,
            "released": doc["state"] == RELEASED,
            "state": doc["state"],
        }

    def recover(self, older_than: float | None = None) -> dict[str, int]:
        """Finish reservations a crash left pending/releasing, and drop stale markers.

        Only documents untouched for ``older_than`` seconds (default: the lease TTL) are
        looked at, each under its order lease, so this is safe next to live traffic."""
        age = (
            self.store.locks.ttl
            if older_than is None
            else timedelta(seconds=older_than)
        )
        stuck = {
            "state": {"$in": list(TRANSITIONAL)},
            "updated_at": {"$lte": utcnow() - age},
        }
        settled = busy = 0
        for doc in self.docs.find(stuck, {"order_id": 1}):
            try:
                with self.store.locks.hold(
                    _order_key(doc["order_id"]), wait=0
                ) as token:
                    current = self.docs.find_one({"order_id": doc["order_id"]})
                    if current["state"] in TRANSITIONAL:
                        self.settle(current, token)
                        settled += 1
            except LockTimeout:
                busy += 1
        return {
            "settled": settled,
            "busy": busy,
            "markers_cleared": self._clear_stale_markers(),
        }

    # -- the steps; tests call them one by one to stop "crashed" between two of them -------

    def insert_pending(self, order_id: str, request: dict[str, Any]) -> dict[str, Any]:
        now = utcnow()
        doc = {
            "order_id": order_id,
            **request,
            "state": PENDING,
            "reserved": None,
            "available": None,
            "created_at": now,
            "updated_at": now,
        }
        try:
            self.docs.insert_one(doc)
        except DuplicateKeyError:  # only if our lease was taken over while we stalled
            raise _in_progress(order_id) from None
        return doc

    def settle(self, doc: dict[str, Any], token: str) -> dict[str, Any]:
        """Drive a pending/releasing reservation to its final state (no-op if final)."""
        if doc["state"] == PENDING:
            doc = self.apply_reservation(doc, token)
        if doc["state"] == RELEASING:
            doc = self.apply_release(doc, token)
        return doc

    def apply_reservation(self, doc: dict[str, Any], token: str) -> dict[str, Any]:
        order_id, quantity = doc["order_id"], doc["quantity"]
        line = {"sku": doc["sku"], "hub_id": doc["hub_id"]}
        stock = self.store.stock
        with self.store.stock_guard(doc["sku"], doc["hub_id"]):
            self._ensure_lease(order_id, token)
            after = stock.find_one_and_update(
                {**line, "available": {"$gte": quantity}, "holds": {"$ne": order_id}},
                {
                    "$inc": {"available": -quantity, "reserved": quantity},
                    "$push": {"holds": order_id},
                },
                return_document=ReturnDocument.AFTER,
            )
            if (
                after is None
            ):  # short of stock, no stock line, or applied before a crash
                after = stock.find_one(line)
            applied = after is not None and order_id in (after.get("holds") or [])
            available = after["available"] if after is not None else 0
            doc = self._transition(
                order_id,
                PENDING,
                {
                    "state": RESERVED if applied else REJECTED,
                    "reserved": applied,
                    "available": available,
                },
            )
            if applied:
                stock.update_one(line, {"$pull": {"holds": order_id}})
        return doc

    def apply_release(self, doc: dict[str, Any], token: str) -> dict[str, Any]:
        order_id, quantity = doc["order_id"], doc["quantity"]
        line = {"sku": doc["sku"], "hub_id": doc["hub_id"]}
        stock = self.store.stock
        with self.store.stock_guard(doc["sku"], doc["hub_id"]):
            self._ensure_lease(order_id, token)
            stock.update_one(
                {**line, "returns": {"$ne": order_id}},
                {
                    "$inc": {"available": quantity, "reserved": -quantity},
                    "$push": {"returns": order_id},
                },
            )
            doc = self._transition(
                order_id, RELEASING, {"state": RELEASED, "released_at": utcnow()}
            )
            stock.update_one(line, {"$pull": {"returns": order_id}})
        return doc

    # -- helpers --------------------------------------------------------------------------

    def _transition(
        self, order_id: str, from_state: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self.docs.find_one_and_update(
            {"order_id": order_id, "state": from_state},
            {"$set": {**changes, "updated_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise _in_progress(order_id)
        return doc

    def _check_catalog(self, sku: str, hub_id: str) -> None:
        if not self.store.sku_exists(sku):
            raise NotFound(f"unknown sku {sku!r}", code="unknown_sku")
        if not self.store.hub_exists(hub_id):
            raise NotFound(f"unknown hub_id {hub_id!r}", code="unknown_hub")

    @contextmanager
    def _order_lease(self, order_id: str) -> Iterator[str]:
        locks, key = self.store.locks, _order_key(order_id)
        try:
            token = locks.acquire(key, wait=self.store.lock_wait)
        except LockTimeout:
            raise _in_progress(order_id) from None
        try:
            yield token
        finally:
            locks.release(key, token)

    def _ensure_lease(self, order_id: str, token: str) -> None:
        try:
            self.store.locks.ensure_held(_order_key(order_id), token)
        except LockLost:
            raise _in_progress(order_id) from None

    def _clear_stale_markers(self) -> int:
        cleared = 0
        lines = self.store.stock.find(
            {}, {"sku": 1, "hub_id": 1, "holds": 1, "returns": 1}
        )
        for line in lines:
            for field, is_stale in (
                ("holds", _hold_is_stale),
                ("returns", _return_is_stale),
            ):
                for order_id in line.get(field) or []:
                    if not is_stale(
                        self.docs.find_one({"order_id": order_id}, {"state": 1})
                    ):
                        continue
                    with self.store.stock_guard(line["sku"], line["hub_id"]):
                        self.store.stock.update_one(
                            {"_id": line["_id"]}, {"$pull": {field: order_id}}
                        )
                    cleared += 1
        return cleared


def _hold_is_stale(reservation: dict[str, Any] | None) -> bool:
    return reservation is None or reservation["state"] != PENDING


def _return_is_stale(reservation: dict[str, Any] | None) -> bool:
    return reservation is None or reservation["state"] == RELEASED


def _order_key(order_id: str) -> str:
    return f"order:{order_id}"


def _in_progress(order_id: str) -> Busy:
    # Transient, hence a 503 with Retry-After (clients retry 5xx), unlike the 409 below.
    return Busy(
        f"reservation {order_id!r} is being processed by another request, retry",
        code="reservation_in_progress",
        retry_after=1,
    )


def _check_same_request(doc: dict[str, Any], request: dict[str, Any]) -> None:
    stored = {key: doc[key] for key in request}
    if stored != request:
        raise Conflict(
            f"order_id {doc['order_id']!r} was already used for a different reservation",
            code="order_id_conflict",
            existing=stored,
        )


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "order_id": doc["order_id"],
        "sku": doc["sku"],
        "hub_id": doc["hub_id"],
        "quantity": doc["quantity"],
        "state": doc["state"],
        "reserved": doc["reserved"],
        "available": doc["available"],
    }
