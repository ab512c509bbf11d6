"""Test data and helpers shared by the IMS tests (fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from devstack import postgres
from ims import schema
from ims.catalog import Catalog

SKU_A, SKU_B, SKU_C = "SKU-90001", "SKU-90002", "SKU-90003"
HUB_1, HUB_2 = "HUB-TST-01", "HUB-TST-02"

SERVICE_KEY = "ims-test-key-1"
OTHER_KEY = "ims-test-key-2"
KEY = {"X-Service-Key": SERVICE_KEY}

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


def connect(database: str) -> psycopg.Connection:
    return psycopg.connect(postgres.conninfo(database), autocommit=True)


def fresh_schema(conn: psycopg.Connection, catalog: Catalog | None = TEST_CATALOG) -> None:
    """Drop every IMS table, create them again, seed ``catalog`` (unless None)."""
    conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    schema.create_schema(conn)
    if catalog is not None:
        schema.seed(conn, catalog)


def drop_database(name: str) -> None:
    """Drop a test database, ending any session still connected to it."""
    with psycopg.connect(postgres.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def snapshot(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    """Every row of every IMS table, for "nothing was written" assertions."""
    return {
        table: conn.execute(
            sql.SQL("SELECT * FROM {} ORDER BY 1, 2").format(sql.Identifier(table))
        ).fetchall()
        for table in schema.TABLES
    }


def stock_of(conn: psycopg.Connection, sku: str, hub_id: str) -> tuple[int, int]:
    """(on_hand, reserved) of one stock line."""
    return conn.execute(
        "SELECT on_hand, reserved FROM stock WHERE sku = %s AND hub_id = %s", (sku, hub_id)
    ).fetchone()


def held_quantity(conn: psycopg.Connection, sku: str, hub_id: str) -> int:
    """What the reservations table says is held on one line; must equal stock.reserved."""
    return conn.execute(
        """SELECT coalesce(sum(quantity), 0) FROM reservations
           WHERE sku = %s AND hub_id = %s AND state = 'reserved'""",
        (sku, hub_id),
    ).fetchone()[0]


def count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
    ).fetchone()[0]


def reservation(
    order_id: str, sku: str = SKU_A, hub_id: str = HUB_1, quantity: int = 2
) -> dict[str, Any]:
    return {"order_id": order_id, "sku": sku, "hub_id": hub_id, "quantity": quantity}


# -- run in other OS processes (multiprocessing "spawn": must be importable) -------------


def send_all(
    url: str, requests_: list[tuple[str, str, Any]], barrier: Any, results: Any, worker: int
) -> None:
    """Send (method, path, json) requests in order, starting when every process is ready;
    put (worker, [(status, body), ...]) on ``results``."""
    import requests

    answers = []
    with requests.Session() as http:
        http.headers.update(KEY)
        http.get(f"{url}/healthz", timeout=30)  # connect before the start line
        barrier.wait(timeout=60)
        for method, path, body in requests_:
            response = http.request(method, f"{url}{path}", json=body, timeout=60)
            answers.append((response.status_code, response.json()))
    results.put((worker, answers))
