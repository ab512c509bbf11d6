"""Reservations: stock taken for an order, atomically, once per order_id.

A reservation row exists only while (or after) an order holds stock::

    (nothing) ──reserve──► reserved ──release──► released

A request short of stock is answered ``rejected`` and stores nothing, so asking again
later re-checks the stock (this is how OMS retries a backorder once stock arrives). An
order_id is used once: after a release, a repeated reserve answers the stored reservation
(state ``released``) and takes nothing.

Each item is one SQL statement that, in one snapshot, looks for the order's reservation,
takes the stock with a conditional UPDATE if there is none, and records the reservation
with ``INSERT ... ON CONFLICT (order_id) DO NOTHING`` (see ``ims.store`` for why this is
atomic). A batch is one call of the function ``reserve_items`` (``ims.schema``), which
runs the items' statements in order inside one transaction, sorted by (sku, hub_id) so
concurrent batches lock stock rows in the same order.

Two requests for a new order_id at the same instant both find no reservation, and the
first to commit wins. The second then either took stock too, and its INSERT meets the key
and does nothing: its transaction is rolled back (giving its stock back) and run again,
when it sees the winner's reservation; or it found too little stock once the winner had
taken its share: before answering "rejected", rejections are read again and an order now
held is answered as the repeat it is (``_recheck_rejected``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ims.db import Retry, in_transaction
from ims.errors import Conflict, ImsError
from ims.store import unknown_item

RESERVED, RELEASED, REJECTED = "reserved", "released", "rejected"
CREATED, REPEATED = 201, 200

# A batch in one call: ims.schema's reserve_items runs, for each item in order, one
# statement of three parts:
#   held     the order's reservation, if it has one;
#   taken    the stock, with a conditional UPDATE, only when there is none and enough is
#            available;
#   recorded the reservation, INSERT ... ON CONFLICT (order_id) DO NOTHING.
RESERVE = """
SELECT held_sku AS sku, held_hub_id AS hub_id, held_quantity AS quantity,
       held_state AS state, held_available AS available, took, recorded_available,
       sku_exists, hub_exists
FROM reserve_items(%s::text[], %s::text[], %s::text[], %s::integer[])
ORDER BY item
"""

# Releases only a reservation still held, so two concurrent releases cannot both give
# the stock back: the second waits for the first's row lock, then finds it released.
RELEASE = """
WITH released AS (
    UPDATE reservations SET state = 'released', released_at = now()
    WHERE order_id = %s AND state = 'reserved'
    RETURNING sku, hub_id, quantity
)
UPDATE stock SET reserved = stock.reserved - released.quantity
FROM released
WHERE stock.sku = released.sku AND stock.hub_id = released.hub_id
"""


@dataclass(frozen=True)
class Request:
    order_id: str
    sku: str
    hub_id: str
    quantity: int

    def fields(self) -> dict[str, Any]:
        return {"sku": self.sku, "hub_id": self.hub_id, "quantity": self.quantity}


@dataclass(frozen=True)
class Outcome:
    """What one reservation request got: an HTTP status and a body, or an error."""

    status: int
    body: dict[str, Any] | None = None
    error: ImsError | None = None

    def as_item(self, order_id: str | None) -> dict[str, Any]:
        """The batch's shape of this outcome: the single call's body plus ``status``."""
        if self.error is None:
            return {**self.body, "status": self.status}
        return {
            "order_id": order_id,
            "status": self.status,
            "code": self.error.code,
            "message": self.error.message,
            **self.error.details,
        }


def reserve(conn: psycopg.Connection, request: Request) -> Outcome:
    return reserve_many(conn, [request])[0]


def reserve_many(conn: psycopg.Connection, requests: list[Request]) -> list[Outcome]:
    """Reserve each request on its own terms, in one transaction; outcomes in request
    order. An order_id given twice is decided once: an identical repeat gets the same
    answer (200 where the first got 201), a different body gets 409."""
    first: dict[str, int] = {}  # order_id -> index of its first request
    for index, request in enumerate(requests):
        first.setdefault(request.order_id, index)
    unique = sorted(
        (requests[i] for i in first.values()), key=lambda r: (r.sku, r.hub_id, r.order_id)
    )
    decided = in_transaction(conn, lambda c: _decide(c, unique)) if unique else {}
    outcomes = []
    for index, request in enumerate(requests):
        outcome = decided[request.order_id]
        primary = requests[first[request.order_id]]
        if index != first[request.order_id]:
            outcome = _repeat_within_batch(outcome, primary, request)
        outcomes.append(outcome)
    return outcomes


def _decide(conn: psycopg.Connection, requests: list[Request]) -> dict[str, Outcome]:
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            RESERVE,
            (
                [r.order_id for r in requests],
                [r.sku for r in requests],
                [r.hub_id for r in requests],
                [r.quantity for r in requests],
            ),
        )
        .fetchall()
    )
    outcomes: dict[str, Outcome] = {}
    rejected: list[Request] = []
    for request, row in zip(requests, rows, strict=True):
        if row["took"] and row["recorded_available"] is None:
            raise Retry(f"order {request.order_id!r} was reserved concurrently")
        if row["state"] is not None:
            outcomes[request.order_id] = _repeat(request, row)
        elif row["recorded_available"] is not None:
            body = _body(request, RESERVED, True, row["recorded_available"])
            outcomes[request.order_id] = Outcome(CREATED, body)
        elif not (row["sku_exists"] and row["hub_exists"]):
            error = unknown_item(row["sku_exists"], row["hub_exists"], request.sku, request.hub_id)
            outcomes[request.order_id] = Outcome(error.status, error=error)
        else:
            rejected.append(request)
    if rejected:
        outcomes.update(_recheck_rejected(conn, rejected))
    return outcomes


def _recheck_rejected(conn: psycopg.Connection, requests: list[Request]) -> dict[str, Outcome]:
    """Answer the requests their statement found short of stock, reading again (each
    statement has its own snapshot under READ COMMITTED). A request may have waited for
    another transaction's lock on its stock line, which reserved this very order_id and
    committed: the order is then held and is answered as a repeat, not as a rejection.
    "available" is what is left now, after this batch's own writes."""
    held = {
        row["order_id"]: row
        for row in conn.cursor(row_factory=dict_row).execute(
            """SELECT order_id, sku, hub_id, quantity, state, available
               FROM reservations WHERE order_id = ANY(%s)""",
            ([r.order_id for r in requests],),
        )
    }
    available = _available(conn, requests)
    outcomes = {}
    for request in requests:
        if request.order_id in held:
            outcomes[request.order_id] = _repeat(request, held[request.order_id])
        else:
            left = available.get((request.sku, request.hub_id), 0)
            outcomes[request.order_id] = Outcome(REPEATED, _body(request, REJECTED, False, left))
    return outcomes


def _repeat(request: Request, held: dict[str, Any]) -> Outcome:
    stored = {"sku": held["sku"], "hub_id": held["hub_id"], "quantity": held["quantity"]}
    if stored != request.fields():
        error = Conflict(
            f"order_id {request.order_id!r} was already used for a different reservation",
            code="order_id_conflict",
            existing=stored,
        )
        return Outcome(error.status, error=error)
    return Outcome(REPEATED, _body(request, held["state"], True, held["available"]))


def _repeat_within_batch(outcome: Outcome, primary: Request, request: Request) -> Outcome:
    if request != primary:
        error = Conflict(
            f"order_id {request.order_id!r} appears earlier in this batch with a "
            "different reservation",
            code="order_id_conflict",
            existing=primary.fields(),
        )
        return Outcome(error.status, error=error)
    if outcome.status == CREATED:
        return Outcome(REPEATED, outcome.body)
    return outcome


def _available(conn: psycopg.Connection, requests: list[Request]) -> dict[tuple, int]:
    rows = conn.execute(
        """SELECT stock.sku, stock.hub_id, on_hand - reserved
           FROM stock JOIN unnest(%s::text[], %s::text[]) AS line (sku, hub_id)
                ON stock.sku = line.sku AND stock.hub_id = line.hub_id""",
        ([r.sku for r in requests], [r.hub_id for r in requests]),
    ).fetchall()
    return {(sku, hub_id): available for sku, hub_id, available in rows}


def _body(request: Request, state: str, reserved: bool, available: int) -> dict[str, Any]:
    return {
        "order_id": request.order_id,
        "sku": request.sku,
        "hub_id": request.hub_id,
        "quantity": request.quantity,
        "state": state,
        "reserved": reserved,
        "available": available,
    }


def get(conn: psycopg.Connection, order_id: str) -> dict[str, Any] | None:
    """The stored reservation, as the reserve call answered it (``state`` is current)."""
    row = conn.execute(
        """SELECT sku, hub_id, quantity, state, available
           FROM reservations WHERE order_id = %s""",
        (order_id,),
    ).fetchone()
    if row is None:
        return None
    sku, hub_id, quantity, state, available = row
    return _body(Request(order_id, sku, hub_id, quantity), state, True, available)


def release(conn: psycopg.Connection, order_id: str) -> dict[str, Any]:
    """Give a reservation's stock back, exactly once; the same answer on every repeat."""
    # One statement (autocommit): both updates commit together or not at all.
    released = conn.execute(RELEASE, (order_id,)).rowcount == 1
    if released:
        return {"order_id": order_id, "released": True, "state": RELEASED}
    row = conn.execute("SELECT state FROM reservations WHERE order_id = %s", (order_id,)).fetchone()
    return {"order_id": order_id, "released": False, "state": row[0] if row else "not_found"}
