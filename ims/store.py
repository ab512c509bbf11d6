"""Inventory in PostgreSQL: catalog, stock per (sku, hub_id), stock adjustments.

Why PostgreSQL. Taking stock is a conditional write: take ``q`` only if ``on_hand -
reserved >= q``. In PostgreSQL that is one statement,

    UPDATE stock SET reserved = reserved + q
    WHERE sku = $1 AND hub_id = $2 AND on_hand - reserved >= q
    RETURNING on_hand - reserved

which locks the row, re-checks the condition on the newest version of the row when a
concurrent writer got there first, and so can never oversell. Run in one transaction with
``INSERT INTO reservations (order_id PRIMARY KEY, ...)``, the stock taken and the record
of who took it commit together or not at all, and a second request for the same order_id
meets the primary key instead of taking stock twice: atomic and idempotent by
construction. MongoDB-on-FerretDB (where IMS used to live) applies such an update as an
unisolated read-modify-write, which oversold stock under concurrency; it needed a lease
lock, a multi-step reservation journal and a crash-recovery pass to be safe. None of those
exist here: a crash before COMMIT leaves nothing, after COMMIT leaves everything.

Tables are in ``ims.schema``; reservations in ``ims.reservations``. Functions take a
connection (autocommit, see ``ims.db``) so a request, a test or the CLI can call them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ims.errors import Conflict, NotFound

# pg_advisory_xact_lock key taken by every adjustment just before it writes its event,
# held until COMMIT: event ids are then committed in id order, so a reader of the feed
# that has seen id N can never later find a smaller id appear (bigserial values are
# handed out at INSERT time, not at COMMIT time). Adjustments are rare; reservations do
# not take it.
EVENTS_LOCK = 0x494D_5302


def ping(conn: psycopg.Connection) -> None:
    conn.execute("SELECT 1").fetchone()


def list_hubs(conn: psycopg.Connection) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    return cur.execute("SELECT hub_id, name, city FROM hubs ORDER BY hub_id").fetchall()


def list_skus(conn: psycopg.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT sku, name, unit_price FROM skus ORDER BY sku").fetchall()
    # unit_price is numeric(12, 2): its string is the exact decimal, e.g. "10.50".
    return [{"sku": sku, "name": name, "unit_price": str(price)} for sku, name, price in rows]


def validate_pairs(conn: psycopg.Connection, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Existence of each (sku, hub_id), in request order, duplicates answered in place.

    One query for the whole call, whatever its size: OMS asks once per chunk of orders.
    """
    known_skus: list[str] = []
    known_hubs: list[str] = []
    if pairs:
        known_skus, known_hubs = conn.execute(
            """SELECT ARRAY(SELECT sku FROM skus WHERE sku = ANY(%s)),
                      ARRAY(SELECT hub_id FROM hubs WHERE hub_id = ANY(%s))""",
            (list({sku for sku, _ in pairs}), list({hub for _, hub in pairs})),
        ).fetchone()
    skus, hubs = set(known_skus), set(known_hubs)
    return [
        {
            "sku": sku,
            "hub_id": hub_id,
            "sku_exists": sku in skus,
            "hub_exists": hub_id in hubs,
            "valid": sku in skus and hub_id in hubs,
        }
        for sku, hub_id in pairs
    ]


def catalog_check(conn: psycopg.Connection, sku: str, hub_id: str) -> tuple[bool, bool]:
    """(sku exists, hub exists)."""
    return conn.execute(
        """SELECT EXISTS (SELECT 1 FROM skus WHERE sku = %s),
                  EXISTS (SELECT 1 FROM hubs WHERE hub_id = %s)""",
        (sku, hub_id),
    ).fetchone()


def unknown_item(sku_exists: bool, hub_exists: bool, sku: str, hub_id: str) -> NotFound:
    """The 404 for a sku or hub the catalog does not have (the sku is named first)."""
    if not sku_exists:
        return NotFound(f"unknown sku {sku!r}", code="unknown_sku")
    return NotFound(f"unknown hub {hub_id!r}", code="unknown_hub")


STOCK_COLUMNS = "sku, hub_id, on_hand, reserved, on_hand - reserved AS available"


def get_stock(conn: psycopg.Connection, sku: str, hub_id: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    return cur.execute(
        f"SELECT {STOCK_COLUMNS} FROM stock WHERE sku = %s AND hub_id = %s", (sku, hub_id)
    ).fetchone()


def list_inventory(
    conn: psycopg.Connection, sku: str | None = None, hub_id: str | None = None
) -> list[dict[str, Any]]:
    """Stock lines, optionally of one sku and/or one hub, sorted by (sku, hub_id)."""
    cur = conn.cursor(row_factory=dict_row)
    return cur.execute(
        f"""SELECT {STOCK_COLUMNS} FROM stock
            WHERE (%(sku)s::text IS NULL OR sku = %(sku)s)
              AND (%(hub_id)s::text IS NULL OR hub_id = %(hub_id)s)
            ORDER BY sku, hub_id""",
        {"sku": sku, "hub_id": hub_id},
    ).fetchall()


def adjust(
    conn: psycopg.Connection, sku: str, hub_id: str, delta: int, reason: str
) -> dict[str, Any]:
    """Add (delta > 0) or remove (delta < 0) on-hand stock, and record the event.

    Stock held by reservations cannot be removed: taking away more than ``available``
    raises Conflict ``insufficient_stock`` and writes nothing. A missing stock line is
    created by a positive delta. Stock line and event commit together.
    """
    with conn.transaction():
        sku_exists, hub_exists = catalog_check(conn, sku, hub_id)
        if not (sku_exists and hub_exists):
            raise unknown_item(sku_exists, hub_exists, sku, hub_id)
        cur = conn.cursor(row_factory=dict_row)
        if delta > 0:
            line = cur.execute(
                f"""INSERT INTO stock (sku, hub_id, on_hand) VALUES (%s, %s, %s)
                    ON CONFLICT (sku, hub_id) DO UPDATE
                    SET on_hand = stock.on_hand + EXCLUDED.on_hand
                    RETURNING {STOCK_COLUMNS}""",
                (sku, hub_id, delta),
            ).fetchone()
        else:
            line = cur.execute(
                f"""UPDATE stock SET on_hand = on_hand + %(delta)s
                    WHERE sku = %(sku)s AND hub_id = %(hub_id)s
                      AND on_hand - reserved >= -%(delta)s
                    RETURNING {STOCK_COLUMNS}""",
                {"sku": sku, "hub_id": hub_id, "delta": delta},
            ).fetchone()
        if line is None:
            current = get_stock(conn, sku, hub_id)
            available = current["available"] if current else 0
            raise Conflict(
                f"cannot remove {-delta} of {sku!r} at {hub_id!r}: {available} available",
                code="insufficient_stock",
                available=available,
            )
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (EVENTS_LOCK,))
        conn.execute(
            """INSERT INTO inventory_events (sku, hub_id, delta, on_hand, available, reason)
               VALUES (%s, %s, %s, %s, %s, %s)""",
            (sku, hub_id, delta, line["on_hand"], line["available"], reason),
        )
    return line


def list_events(conn: psycopg.Connection, after: int, limit: int) -> dict[str, Any]:
    """Adjustments with id > ``after``, oldest first; ``next_after`` is where to go on."""
    cur = conn.cursor(row_factory=dict_row)
    rows = cur.execute(
        """SELECT id, sku, hub_id, delta, on_hand, available, reason, at
           FROM inventory_events WHERE id > %s ORDER BY id LIMIT %s""",
        (after, limit),
    ).fetchall()
    for row in rows:
        row["at"] = _iso(row["at"])
    return {"items": rows, "next_after": rows[-1]["id"] if rows else after}


def _iso(moment: datetime) -> str:
    return moment.isoformat()
