"""GET /orders, GET /orders/<order_id>, and moving one order: cancel, or another status."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from oms.api.pagination import page_body
from oms.api.schemas import (
    ApiErrorSchema,
    CancelArgsSchema,
    MoveArgsSchema,
    OrderListArgsSchema,
    OrderPageSchema,
    OrderSchema,
)
from oms.orders.commands import change_status
from oms.orders.listing import list_orders
from oms.orders.money import from_cents
from oms.orders.status import OrderStatus
from oms.orders.workflow import get_order

blp = Blueprint("orders", __name__, description="Stored orders")


def present(order: dict) -> dict:
    view = dict(order)
    item = dict(order["item"])
    item["unit_price"] = str(from_cents(item.pop("unit_price_cents")))
    item["total_amount"] = str(from_cents(item.pop("total_amount_cents")))
    view["item"] = item
    return view


@blp.route("/orders")
class Orders(MethodView):
    @blp.arguments(OrderListArgsSchema, location="query")
    @blp.response(200, OrderPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Orders of the newest upload first, each upload's in file order; filter by
        ``status``, ``hub_id``, ``upload_id``. Follow ``next`` for the next page: a page
        may hold fewer than ``page_size`` orders when the filters match few (it examines
        a bounded number of orders); ``next`` is null only at the end."""
        page = list_orders(
            args["page_size"],
            args.get("cursor"),
            upload_id=args.get("upload_id"),
            status=args.get("status"),
            hub_id=args.get("hub_id"),
        )
        return page_body(page, present, args)


@blp.route("/orders/<order_id>")
class OrderById(MethodView):
    @blp.response(200, OrderSchema)
    @blp.alt_response(404, description="no such order")
    def get(self, order_id: str) -> dict[str, Any]:
        """One order by its order_id, with its status history."""
        return present(get_order(order_id))


@blp.route("/orders/<order_id>/cancel")
class CancelOrder(MethodView):
    @blp.arguments(CancelArgsSchema, location="json", required=False)
    @blp.response(200, OrderSchema)
    @blp.alt_response(404, schema=ApiErrorSchema, description="no such order")
    @blp.alt_response(
        409,
        schema=ApiErrorSchema,
        description="the order's status cannot become cancelled (`allowed` "
        "names the moves it allows)",
    )
    def post(self, args: dict[str, Any] | None, order_id: str) -> dict[str, Any]:
        """Cancel an order (on hold, backordered or confirmed); its reserved stock goes
        back to IMS. Cancelling a cancelled order changes nothing."""
        reason = (args or {}).get("reason") or "cancelled through the API"
        order, _ = change_status(order_id, OrderStatus.CANCELLED, reason=reason, actor="api")
        return present(order)


@blp.route("/orders/<order_id>/status")
class MoveOrder(MethodView):
    @blp.arguments(MoveArgsSchema, location="json")
    @blp.response(200, OrderSchema)
    @blp.alt_response(404, schema=ApiErrorSchema, description="no such order")
    @blp.alt_response(
        409,
        schema=ApiErrorSchema,
        description="the move is not allowed from the order's status "
        "(`allowed` names the ones that are), or confirming a "
        "backorder found no stock",
    )
    def post(self, args: dict[str, Any], order_id: str) -> dict[str, Any]:
        """Move an order to another status the workflow allows (confirmed -> fulfilled,
        backordered -> confirmed when IMS has the stock, ...)."""
        order, _ = change_status(
            order_id,
            OrderStatus(args["status"]),
            reason=args.get("reason") or "changed through the API",
            actor="api",
        )
        return present(order)
