"""The reference Inventory Management Service: a small Flask app over ``InventoryStore``.

Contract (JSON bodies; every error is ``{"code": str, "message": str, ...}``):

- ``POST /v1/validate`` ``{"items": [{"sku", "hub_id"}]}`` → 200 ``{"items": [{"sku",
  "hub_id", "sku_exists", "hub_exists", "valid"}]}``, one answer per item in request order
  (duplicates answered in place); 400 ``bad_request``; 413 ``too_many_items`` above
  ``IMS_MAX_ITEMS`` (10,000).
- ``POST /v1/reservations`` ``{"order_id", "sku", "hub_id", "quantity"}`` → 201 when this
  call decided, 200 on a repeat, both ``{"order_id", "sku", "hub_id", "quantity", "state",
  "reserved", "available"}``; 400 ``bad_request``; 404 ``unknown_sku``/``unknown_hub``;
  409 ``order_id_conflict`` (same id, different request; permanent); 503
  ``reservation_in_progress``/``stock_busy`` with ``Retry-After`` (transient).
- ``GET /v1/reservations/<order_id>`` → the reservation, or 404 ``reservation_not_found``.
- ``DELETE /v1/reservations/<order_id>`` → 200 ``{"order_id", "released", "state"}``.
- ``GET /v1/skus``, ``GET /v1/hubs``, ``GET /v1/stock/<sku>/<hub_id>``.
- ``GET /healthz`` → 200 ``{"status": "ok"}``, 503 when MongoDB does not answer.
- MongoDB unreachable on any route: 503 ``store_unavailable`` with ``Retry-After``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import ConnectionFailure, PyMongoError

from ims import faults
from ims.catalog import load_catalog
from ims.config import DEFAULT_MONGO_URI, ImsSettings
from ims.errors import NotFound, register_error_handlers
from ims.schemas import load_reservation_body, load_validate_body
from ims.store import InventoryStore

log = logging.getLogger(__name__)

bp = Blueprint("ims", __name__)


def create_app(
    db: Database | None = None,
    mongo_uri: str | None = None,
    db_name: str = "ims",
    test_config: dict[str, Any] | None = None,
) -> Flask:
    app = Flask(__name__)
    app.json.sort_keys = False
    app.config.from_mapping(
        IMS_MAX_ITEMS=10_000,
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        IMS_LOCK_TTL=10.0,
        IMS_LOCK_WAIT=5.0,
        IMS_STOCK_LOCKS=None,
    )
    if test_config:
        app.config.update(test_config)
    if db is None:
        client: MongoClient = MongoClient(
            mongo_uri or DEFAULT_MONGO_URI,
            tz_aware=True,
            serverSelectionTimeoutMS=3000,
            appname="ims",
        )
        db = client[db_name]
    app.extensions["ims.store"] = InventoryStore(
        db,
        lock_ttl=app.config["IMS_LOCK_TTL"],
        lock_wait=app.config["IMS_LOCK_WAIT"],
        stock_locks=app.config["IMS_STOCK_LOCKS"],
    )
    app.register_blueprint(bp)
    app.register_blueprint(faults.bp)
    register_error_handlers(app)
    return app


def build_app(settings: ImsSettings, seed_attempts: int = 10) -> Flask:
    """The app as deployed: settings from ``ims.config``, catalog seeded on start-up.

    Seeding is idempotent and never resets stock that has moved. In docker-compose the
    database may still be starting, so seeding retries briefly, then fails loudly for the
    process supervisor to restart us.
    """
    app = create_app(
        mongo_uri=settings.mongo_uri,
        db_name=settings.db_name,
        test_config=settings.app_config(),
    )
    if settings.seed_on_start:
        for attempt in range(1, seed_attempts + 1):
            try:
                log.info("catalog seeded: %s", get_store(app).seed(load_catalog()))
                break
            except ConnectionFailure:
                if attempt == seed_attempts:
                    raise
                log.warning("MongoDB not reachable, seeding retry %d", attempt)
                time.sleep(min(2 * attempt, 10))
    return app


def get_store(app: Flask | None = None) -> InventoryStore:
    return (app or current_app).extensions["ims.store"]


@bp.post("/v1/validate")
def validate_items():
    pairs = load_validate_body(_json_body(), current_app.config["IMS_MAX_ITEMS"])
    faults.maybe_fail("validate", {sku for sku, _ in pairs})
    return jsonify({"items": get_store().validate_pairs(pairs)})


@bp.post("/v1/reservations")
def create_reservation():
    body = load_reservation_body(_json_body())
    reservation, created = get_store().reservations.reserve(**body)
    return jsonify(reservation), 201 if created else 200


@bp.get("/v1/reservations/<order_id>")
def show_reservation(order_id: str):
    reservation = get_store().reservations.get(order_id)
    if reservation is None:
        raise NotFound(
            f"no reservation for order {order_id!r}", code="reservation_not_found"
        )
    return jsonify(reservation)


@bp.delete("/v1/reservations/<order_id>")
def release_reservation(order_id: str):
    return jsonify(get_store().reservations.release(order_id))


@bp.get("/v1/skus")
def list_skus():
    return jsonify({"skus": get_store().list_skus()})


@bp.get("/v1/hubs")
def list_hubs():
    return jsonify({"hubs": get_store().list_hubs()})


@bp.get("/v1/stock/<sku>/<hub_id>")
def show_stock(sku: str, hub_id: str):
    stock = get_store().get_stock(sku, hub_id)
    if stock is None:
        raise NotFound(
            f"no stock line for {sku!r} at {hub_id!r}", code="stock_not_found"
        )
    return jsonify(stock)


@bp.get("/healthz")
def healthz():
    try:
        get_store().ping()
    except PyMongoError as exc:
        log.warning("health check failed: %s", exc)
        return jsonify({"status": "unavailable", "mongo": "down"}), 503
    return jsonify({"status": "ok"})


def _json_body() -> Any:
    # silent: a body that is not JSON (or has no JSON content type) becomes None, which the
    # schema loaders answer with a 400 in the API's own error shape.
    return request.get_json(silent=True)
