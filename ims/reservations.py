"""Reservations: stock taken for an order, atomically, once per order_id.

A reservation row exists only while (or after) an order holds stock::

    (nothing) ──reserve──► reserved ──release──► released

A request short of stock is answered ``rejected`` and stores nothing, so asking again
later re-checks the stock (this is how OMS retries a backorder once stock arrives). An
order_id is used once: after a release, a repeated reserve answers the stored reservation
(state ``released``) and takes nothing.

A batch runs in one transaction: it locks the stock lines it asks for, in (sku, hub_id)
order so concurrent batches queue in the same order, reads which of its orders already
hold a reservation, decides item by item, in order, which ones the stock covers, then
takes each line's stock with one UPDATE and records the reservations with ``INSERT ... ON
CONFLICT (order_id) DO NOTHING`` (see ``ims.store`` for why this is atomic). Stock is
never taken without its reservation rows, nor recorded twice for one order_id.

Two batches asking for one line take turns on its lock, and the second reads the first's
reservations once the first has committed: a repeat is answered as one. Two requests for
a new order_id on *different* lines do not wait for each other; the second's INSERT meets
the key and does nothing, and its transaction is rolled back (giving its stock back) and
run again, when it sees the winner's reservation. Before answering "rejected",
rejections are read again, and an order now held is answered as the repeat it is
(``_recheck_rejected``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ims.db import Retry, in_transaction
from ims.errors import Conflict, ImsError
from ims.store import unknown_item

RESERVED, RELEASED, REJECTED = "reserved", "released", "rejected"
CREATED, REPEATED = 201, 200

# A batch, in four statements of one transaction (ims.db.in_transaction):
#   LOCK_LINES  the batch's stock lines, locked in (sku, hub_id) order so concurrent
#               batches queue in the same order, and what each has available;
#   HELD        the batch's orders that already hold a reservation: read after the locks,
#               so a batch that held them before and committed is seen;
#   TAKE        each line's stock taken, once per line (the sum of what it gave);
#   RECORD      the reservations, INSERT ... ON CONFLICT (order_id) DO NOTHING: a row not
#               recorded was reserved meanwhile by a batch on another line, and the whole
#               transaction is run again (it then sees that reservation).
# Each takes its items as one JSON parameter: psycopg's dumping of Python lists to arrays
# was a quarter of reserve_many's own time (cProfile, 500 items).
# Which item gets stock is decided in Python from LOCK_LINES, in the batch's order, as one
# conditional UPDATE per item would. The earlier single call of a PL/pgSQL function, one
# statement per item, cost PostgreSQL 134 ms per batch of 500 during a 100k-row upload
# (pg_stat_statements); these four cost about 15 ms (psql, the same 500 items).
LOCK_LINES = """
SELECT stock.sku, stock.hub_id, stock.on_hand - stock.reserved
FROM stock
JOIN (SELECT DISTINCT * FROM jsonb_to_recordset(%s) AS line (sku text, hub_id text)) AS line
  ON stock.sku = line.sku AND stock.hub_id = line.hub_id
ORDER BY stock.sku, stock.hub_id
FOR UPDATE OF stock
"""
HELD = """
SELECT order_id, sku, hub_id, quantity, state, available
FROM reservations WHERE order_id = ANY(ARRAY(SELECT jsonb_array_elements_text(%s)))
"""
TAKE = """
UPDATE stock SET reserved = stock.reserved + line.quantity
FROM jsonb_to_recordset(%s) AS line (sku text, hub_id text, quantity bigint)
WHERE stock.sku = line.sku AND stock.hub_id = line.hub_id
"""
RECORD = """
INSERT INTO reservations (order_id, sku, hub_id, quantity, state, available)
SELECT order_id, sku, hub_id, quantity, 'reserved', available
FROM jsonb_to_recordset(%s)
     AS item (order_id text, sku text, hub_id text, quantity integer, available bigint)
ON CONFLICT (order_id) DO NOTHING
RETURNING order_id
"""
KNOWN = """
SELECT ARRAY(SELECT sku FROM skus WHERE sku = ANY(%s)),
       ARRAY(SELECT hub_id FROM hubs WHERE hub_id = ANY(%s))
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
    lines = Jsonb([{"sku": r.sku, "hub_id": r.hub_id} for r in requests])
    available = {(sku, hub_id): left for sku, hub_id, left in conn.execute(LOCK_LINES, (lines,))}
    held = {
        row["order_id"]: row
        for row in conn.cursor(row_factory=dict_row).execute(
            HELD, (Jsonb([r.order_id for r in requests]),)
        )
    }
    outcomes: dict[str, Outcome] = {}
    taken: list[tuple[Request, int]] = []  # (request, available right after it)
    unlisted: list[Request] = []  # no stock line: unknown SKU or hub, or none stocked
    rejected: list[Request] = []
    for request in requests:
        line = (request.sku, request.hub_id)
        if request.order_id in held:
            outcomes[request.order_id] = _repeat(request, held[request.order_id])
        elif line not in available:
            unlisted.append(request)
        elif available[line] >= request.quantity:
            available[line] -= request.quantity
            taken.append((request, available[line]))
        else:
            rejected.append(request)
    if taken:
        _take(conn, taken)
        for request, left in taken:
            outcomes[request.order_id] = Outcome(CREATED, _body(request, RESERVED, True, left))
    if unlisted:
        outcomes.update(_unlisted(conn, unlisted))
    if rejected:
        outcomes.update(_recheck_rejected(conn, rejected))
    return outcomes


def _take(conn: psycopg.Connection, taken: list[tuple[Request, int]]) -> None:
    """Take the stock of ``taken`` and record their reservations; Retry if one of them
    was reserved meanwhile by another transaction (one that locked another line)."""
    by_line: dict[tuple[str, str], int] = {}
    for request, _ in taken:
        line = (request.sku, request.hub_id)
        by_line[line] = by_line.get(line, 0) + request.quantity
    takes = [{"sku": sku, "hub_id": hub, "quantity": q} for (sku, hub), q in by_line.items()]
    conn.execute(TAKE, (Jsonb(takes),))
    items = [{**r.fields(), "order_id": r.order_id, "available": left} for r, left in taken]
    recorded = conn.execute(RECORD, (Jsonb(items),)).rowcount
    if recorded != len(taken):
        raise Retry(f"{len(taken) - recorded} of the batch's orders were reserved concurrently")


def _unlisted(conn: psycopg.Connection, requests: list[Request]) -> dict[str, Outcome]:
    """Requests for a (sku, hub_id) with no stock line: unknown SKU or hub, else a line
    that was never stocked (nothing available: rejected)."""
    known_skus, known_hubs = conn.execute(
        KNOWN, (list({r.sku for r in requests}), list({r.hub_id for r in requests}))
    ).fetchone()
    outcomes = {}
    for request in requests:
        sku_exists, hub_exists = request.sku in known_skus, request.hub_id in known_hubs
        if sku_exists and hub_exists:
            outcomes[request.order_id] = Outcome(REPEATED, _body(request, REJECTED, False, 0))
        else:
            error = unknown_item(sku_exists, hub_exists, request.sku, request.hub_id)
            outcomes[request.order_id] = Outcome(error.status, error=error)
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
