"""The reference Inventory Management Service: a small Flask app over PostgreSQL.

Contract (JSON bodies; every error is ``{"code": str, "message": str, ...}``). Writes
(marked [key]) need ``X-Service-Key`` (401 ``unauthorized`` without it or when the service
has no keys, 403 ``forbidden`` with a wrong one, see ``ims.auth``); reads are open.

- ``POST /v1/validate`` ``{"items": [{"sku", "hub_id"}]}`` → 200 ``{"items": [{"sku",
  "hub_id", "sku_exists", "hub_exists", "valid"}]}`` in request order; 400; 413
  ``too_many_items`` above ``IMS_MAX_ITEMS``. One query per call.
- [key] ``POST /v1/reservations`` ``{"order_id", "sku", "hub_id", "quantity"}`` → 201 when
  this call took the stock, 200 otherwise, ``{"order_id", "sku", "hub_id", "quantity",
  "state", "reserved", "available"}``. ``state`` ``rejected`` (200, ``reserved: false``,
  ``available`` now): short of stock, nothing stored, a later call checks again. A repeat
  of a stored reservation answers it (``reserved: true``, the first ``available``, the
  current ``state``: ``reserved`` or ``released``) and takes nothing. 400; 404
  ``unknown_sku``/``unknown_hub``; 409 ``order_id_conflict`` (+ ``existing``).
- [key] ``POST /v1/reservations/batch`` ``{"items": [reservation bodies]}`` (at most
  ``IMS_MAX_BATCH``) → 200 ``{"items": [...]}`` in request order: each the single call's
  body plus ``status``, or for a failed item ``{"order_id", "status", "code", "message",
  ...}``. 400 for a bad envelope, 413 ``too_many_items``.
- ``GET /v1/reservations/<order_id>`` → the reservation, or 404 ``reservation_not_found``.
- [key] ``DELETE /v1/reservations/<order_id>`` → 200 ``{"order_id", "released",
  "state"}``: ``released: true`` only for the call that gave the stock back; ``state``
  ``released``, or ``not_found``.
- ``GET /v1/inventory?sku=&hub_id=`` → ``{"items": [{"sku", "hub_id", "on_hand",
  "reserved", "available"}]}`` sorted by (sku, hub_id).
- [key] ``POST /v1/inventory/adjust`` ``{"sku", "hub_id", "delta", "reason"}`` → 200 the
  stock line; 404 ``unknown_sku``/``unknown_hub``; 409 ``insufficient_stock``.
- ``GET /v1/inventory/events?after=&limit=`` → ``{"items": [{"id", "sku", "hub_id",
  "delta", "on_hand", "available", "reason", "at"}], "next_after"}``.
- ``GET /v1/skus``, ``GET /v1/hubs``, ``GET /v1/stock/<sku>/<hub_id>`` (404
  ``stock_not_found``).
- ``GET /healthz`` → 200 ``{"status": "ok"}``, 503 when PostgreSQL does not answer.
- [key] ``PUT``/``DELETE /v1/faults/validate``: see ``ims.faults`` (IMS_FAULTS=on only).
- PostgreSQL unreachable on any route: 503 ``store_unavailable`` with ``Retry-After``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
from flask import Flask, jsonify

from ims import faults, routes, schema, store
from ims.catalog import load_catalog
from ims.config import ImsSettings
from ims.db import EXTENSION, Database, get_database
from ims.errors import register_error_handlers

log = logging.getLogger(__name__)


def create_app(
    settings: ImsSettings | None = None, test_config: dict[str, Any] | None = None
) -> Flask:
    """The app over ``settings`` (default: from the environment). Opens no connection:
    the pool is made on the first request of each process, see ``ims.db``."""
    settings = settings or ImsSettings.from_env()
    app = Flask(__name__)
    app.json.sort_keys = False
    app.config.from_mapping(
        IMS_MAX_ITEMS=settings.max_items,
        IMS_MAX_BATCH=settings.max_batch,
        IMS_FAULTS=settings.faults,
        IMS_SERVICE_KEYS=settings.service_keys,
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
    )
    if test_config:
        app.config.update(test_config)
    app.extensions[EXTENSION] = Database(
        settings.postgres_url, size=settings.pool_size, timeout=settings.pool_timeout_s
    )
    app.register_blueprint(routes.bp)
    app.register_blueprint(faults.bp)
    app.add_url_rule("/healthz", view_func=healthz)
    register_error_handlers(app)
    return app


def build_app(settings: ImsSettings, attempts: int = 10) -> Flask:
    """The app as deployed: tables created and the catalog seeded on start-up.

    Both are idempotent, never reset stock that has moved, and are safe when every
    gunicorn worker does them at once. In docker-compose the database may still be
    starting, so this retries briefly, then fails loudly for the supervisor to restart us.
    """
    app = create_app(settings)
    database = get_database(app)
    for attempt in range(1, attempts + 1):
        try:
            with database.connection() as conn:
                schema.create_schema(conn)
                if settings.seed_on_start:
                    log.info("catalog seeded: %s", schema.seed(conn, load_catalog()))
            break
        except psycopg.OperationalError as exc:
            if attempt == attempts:
                database.close()  # stops the pool's reconnect attempts
                raise
            log.warning("PostgreSQL not ready (%s), start-up retry %d", exc, attempt)
            time.sleep(min(2 * attempt, 10))
    return app


def healthz():
    try:
        with get_database().connection() as conn:
            store.ping(conn)
    except psycopg.OperationalError as exc:
        log.warning("health check failed: %s", exc)
        return jsonify({"status": "unavailable", "postgres": "down"}), 503
    return jsonify({"status": "ok"})
