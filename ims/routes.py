"""The ``/v1`` endpoints (contract in ``ims.app``): parse, call ``ims.store`` or
``ims.reservations`` with a pooled connection, answer JSON."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from ims import faults, reservations, store
from ims.auth import requires_service_key
from ims.db import get_database
from ims.errors import BadRequest, ImsError, NotFound
from ims.reservations import Outcome, Request
from ims.schemas import (
    EVENTS_QUERY,
    INVENTORY_QUERY,
    load_adjust_body,
    load_batch_items,
    load_query,
    load_reservation_body,
    load_validate_body,
)

bp = Blueprint("ims", __name__)


def _connection():
    return get_database().connection()


def _json_body() -> Any:
    # silent: a body that is not JSON (or has no JSON content type) becomes None, which the
    # schema loaders answer with a 400 in the API's own error shape.
    return request.get_json(silent=True)


@bp.post("/v1/validate")
def validate_items():
    pairs = load_validate_body(_json_body(), current_app.config["IMS_MAX_ITEMS"])
    faults.maybe_fail("validate", {sku for sku, _ in pairs})
    with _connection() as conn:
        return jsonify({"items": store.validate_pairs(conn, pairs)})


@bp.post("/v1/reservations")
@requires_service_key
def create_reservation():
    reservation = Request(**load_reservation_body(_json_body()))
    with _connection() as conn:
        outcome = reservations.reserve(conn, reservation)
    if outcome.error is not None:
        raise outcome.error
    return jsonify(outcome.body), outcome.status


@bp.post("/v1/reservations/batch")
@requires_service_key
def create_reservations():
    raw_items = load_batch_items(_json_body(), current_app.config["IMS_MAX_BATCH"])
    parsed: list[Request | ImsError] = []
    for raw in raw_items:
        try:
            parsed.append(Request(**load_reservation_body(raw)))
        except BadRequest as error:
            parsed.append(error)
    valid = [item for item in parsed if isinstance(item, Request)]
    decided = iter([])
    if valid:
        with _connection() as conn:
            decided = iter(reservations.reserve_many(conn, valid))
    items = []
    for raw, item in zip(raw_items, parsed, strict=True):
        outcome = next(decided) if isinstance(item, Request) else Outcome(400, error=item)
        items.append(outcome.as_item(_order_id_of(raw)))
    return jsonify({"items": items})


def _order_id_of(raw: Any) -> str | None:
    order_id = raw.get("order_id") if isinstance(raw, dict) else None
    return order_id if isinstance(order_id, str) else None


@bp.get("/v1/reservations/<order_id>")
def show_reservation(order_id: str):
    with _connection() as conn:
        reservation = reservations.get(conn, order_id)
    if reservation is None:
        raise NotFound(f"no reservation for order {order_id!r}", code="reservation_not_found")
    return jsonify(reservation)


@bp.delete("/v1/reservations/<order_id>")
@requires_service_key
def release_reservation(order_id: str):
    with _connection() as conn:
        return jsonify(reservations.release(conn, order_id))


@bp.get("/v1/inventory")
def list_inventory():
    query = load_query(INVENTORY_QUERY, request.args)
    with _connection() as conn:
        return jsonify({"items": store.list_inventory(conn, **query)})


@bp.post("/v1/inventory/adjust")
@requires_service_key
def adjust_inventory():
    body = load_adjust_body(_json_body())
    with _connection() as conn:
        return jsonify(store.adjust(conn, **body))


@bp.get("/v1/inventory/events")
def list_inventory_events():
    query = load_query(EVENTS_QUERY, request.args)
    with _connection() as conn:
        return jsonify(store.list_events(conn, **query))


@bp.get("/v1/skus")
def list_skus():
    with _connection() as conn:
        return jsonify({"skus": store.list_skus(conn)})


@bp.get("/v1/hubs")
def list_hubs():
    with _connection() as conn:
        return jsonify({"hubs": store.list_hubs(conn)})


@bp.get("/v1/stock/<sku>/<hub_id>")
def show_stock(sku: str, hub_id: str):
    with _connection() as conn:
        stock = store.get_stock(conn, sku, hub_id)
    if stock is None:
        raise NotFound(f"no stock line for {sku!r} at {hub_id!r}", code="stock_not_found")
    return jsonify(stock)
