"""The IMS tables, created idempotently, and seeding the catalog into them.

Both run at every start of every gunicorn worker, possibly at the same instant: each holds
a transaction-level advisory lock, so two workers take turns instead of racing on
``CREATE TABLE IF NOT EXISTS`` (which can fail on a duplicate catalog entry when two
sessions create the same table at once).
"""

from __future__ import annotations

import psycopg

from ims.catalog import Catalog

SETUP_LOCK = 0x494D_5301  # pg_advisory_xact_lock key: schema creation and seeding

TABLES = ("faults", "inventory_events", "reservations", "stock", "skus", "hubs")

DDL = """
CREATE TABLE IF NOT EXISTS hubs (
    hub_id text PRIMARY KEY,
    name   text NOT NULL,
    city   text NOT NULL
);
CREATE TABLE IF NOT EXISTS skus (
    sku        text PRIMARY KEY,
    name       text NOT NULL,
    unit_price numeric(12, 2) NOT NULL CHECK (unit_price >= 0)
);
-- available = on_hand - reserved, never stored, so it cannot drift from the two.
CREATE TABLE IF NOT EXISTS stock (
    sku      text NOT NULL REFERENCES skus,
    hub_id   text NOT NULL REFERENCES hubs,
    on_hand  bigint NOT NULL CHECK (on_hand >= 0),
    reserved bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    PRIMARY KEY (sku, hub_id),
    CONSTRAINT reserved_within_on_hand CHECK (reserved <= on_hand)
);
-- One row per order that holds (or held) stock. A rejection is not stored.
CREATE TABLE IF NOT EXISTS reservations (
    order_id    text PRIMARY KEY,
    sku         text NOT NULL,
    hub_id      text NOT NULL,
    quantity    integer NOT NULL CHECK (quantity > 0),
    state       text NOT NULL CHECK (state IN ('reserved', 'released')),
    available   bigint NOT NULL,  -- on_hand - reserved right after this reservation
    created_at  timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz,
    FOREIGN KEY (sku, hub_id) REFERENCES stock
);
CREATE INDEX IF NOT EXISTS reservations_held ON reservations (sku, hub_id)
    WHERE state = 'reserved';
CREATE TABLE IF NOT EXISTS inventory_events (
    id        bigserial PRIMARY KEY,
    sku       text NOT NULL,
    hub_id    text NOT NULL,
    delta     bigint NOT NULL CHECK (delta <> 0),
    on_hand   bigint NOT NULL,
    available bigint NOT NULL,
    reason    text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
-- Earlier versions reserved a batch in this PL/pgSQL function, one statement per item;
-- ims.reservations now does it in four statements per batch.
DROP FUNCTION IF EXISTS reserve_items(text[], text[], text[], integer[]);
CREATE TABLE IF NOT EXISTS faults (
    operation text PRIMARY KEY,
    status    integer NOT NULL,
    count     integer NOT NULL CHECK (count >= 0),
    used      integer NOT NULL DEFAULT 0,
    sku       text,
    delay_s   double precision NOT NULL DEFAULT 0
);
"""


def create_schema(conn: psycopg.Connection) -> None:
    """Create every IMS table and index that does not exist yet; never alters data."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SETUP_LOCK,))
        conn.execute(DDL)


def seed(conn: psycopg.Connection, catalog: Catalog, reset: bool = False) -> dict[str, int]:
    """Upsert hubs and SKUs; create the catalog's missing stock lines.

    Stock that exists is left alone (it has moved since the catalog was written) unless
    ``reset``, which drops every reservation and sets the catalog's lines back to their
    catalog quantities. Inventory events are kept either way: the feed's ids only grow.
    """
    hubs, skus, stock = catalog["hubs"], catalog["skus"], catalog["stock"]
    stock_columns = (
        [line["sku"] for line in stock],
        [line["hub_id"] for line in stock],
        [line["quantity"] for line in stock],
    )
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SETUP_LOCK,))
        conn.execute(
            """INSERT INTO hubs (hub_id, name, city)
               SELECT * FROM unnest(%s::text[], %s::text[], %s::text[])
               ON CONFLICT (hub_id) DO UPDATE SET name = EXCLUDED.name, city = EXCLUDED.city
               WHERE (hubs.name, hubs.city) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.city)""",
            ([h["hub_id"] for h in hubs], [h["name"] for h in hubs], [h["city"] for h in hubs]),
        )
        conn.execute(
            """INSERT INTO skus (sku, name, unit_price)
               SELECT * FROM unnest(%s::text[], %s::text[], %s::numeric[])
               ON CONFLICT (sku) DO UPDATE
               SET name = EXCLUDED.name, unit_price = EXCLUDED.unit_price
               WHERE (skus.name, skus.unit_price)
                     IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.unit_price)""",
            ([s["sku"] for s in skus], [s["name"] for s in skus], [s["unit_price"] for s in skus]),
        )
        inserted = conn.execute(
            """INSERT INTO stock (sku, hub_id, on_hand)
               SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[])
               ON CONFLICT (sku, hub_id) DO NOTHING""",
            stock_columns,
        ).rowcount
        reset_lines = 0
        if reset:
            conn.execute("DELETE FROM reservations")
            conn.execute("UPDATE stock SET reserved = 0 WHERE reserved <> 0")
            reset_lines = conn.execute(
                """UPDATE stock SET on_hand = line.quantity
                   FROM unnest(%s::text[], %s::text[], %s::bigint[])
                        AS line (sku, hub_id, quantity)
                   WHERE stock.sku = line.sku AND stock.hub_id = line.hub_id""",
                stock_columns,
            ).rowcount
    return {
        "hubs": len(hubs),
        "skus": len(skus),
        "stock_inserted": inserted,
        "stock_reset": reset_lines,
    }
