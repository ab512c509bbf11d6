"""GET /orders and GET /orders/<order_id>."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from oms.api.pagination import page_body
from oms.api.schemas import OrderListArgsSchema, OrderPageSchema, OrderSchema
from oms.errors import NotFound
from oms.orders.listing import list_orders
from oms.orders.money import from_cents
from oms.orders.store import orders

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
    def get(self, args: dict):
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
    def get(self, order_id: str):
        """One order by its order_id."""
        order = orders().find_one({"order_id": order_id})
        if order is None:
            raise NotFound(f"order {order_id} does not exist")
        return present(order)
