"""`oms orders` and `oms order`: the stored orders."""

from __future__ import annotations

import click

from oms.cli.client import ApiClient
from oms.cli.output import (
    Column,
    all_pages_option,
    cursor_option,
    echo_json,
    fields,
    json_option,
    page_size_option,
    show_listing,
    table,
    when,
)
from oms.orders.status import OrderStatus

ORDER_COLUMNS = [
    Column("ORDER ID", lambda o: o["order_id"]),
    Column("STATUS", lambda o: o["status"]),
    Column("HUB", lambda o: o["hub_id"]),
    Column("SKU", lambda o: o["item"]["sku"]),
    Column("QTY", lambda o: o["item"]["quantity"], right=True),
    Column("TOTAL", lambda o: o["item"]["total_amount"], right=True),
    Column("CUSTOMER", lambda o: o["customer"]["name"], max_width=24),
    Column("ORDER DATE", lambda o: (when(o.get("order_date")) or "")[:10]),
]


STATUSES = [str(s) for s in OrderStatus]


@click.command()
@click.option("--status", type=click.Choice(STATUSES), help="Only orders with this status.")
@click.option("--hub", "hub_id", metavar="HUB_ID", help="Only orders of this hub.")
@click.option(
    "--upload", "upload_id", metavar="UPLOAD_ID", help="Only orders stored from this upload."
)
@cursor_option
@all_pages_option
@page_size_option
@json_option
@click.pass_obj
def orders(
    client: ApiClient,
    status: str | None,
    hub_id: str | None,
    upload_id: str | None,
    cursor: str | None,
    all_pages: bool,
    page_size: int,
    as_json: bool,
) -> None:
    """List stored orders: the newest upload's first, each upload's in file order."""

    def fetch(at: str | None) -> dict:
        return client.list_orders(at, page_size, status=status, hub_id=hub_id, upload_id=upload_id)

    show_listing(fetch, ORDER_COLUMNS, "orders", as_json, cursor, all_pages)


@click.command()
@click.argument("order_id")
@json_option
@click.pass_obj
def order(client: ApiClient, order_id: str, as_json: bool) -> None:
    """Show the order ORDER_ID."""
    found = client.get_order(order_id)
    if as_json:
        echo_json(found)
        return
    item, customer = found["item"], found["customer"]
    click.echo(
        fields(
            [
                ("order", found["order_id"]),
                ("status", found["status"]),
                ("customer", f"{customer['name']} <{customer['email']}>"),
                ("item", f"{item['sku']} {item['product_name']}"),
                ("quantity", item["quantity"]),
                ("unit price", item["unit_price"]),
                ("total", item["total_amount"]),
                ("hub", found["hub_id"]),
                ("order date", when(found.get("order_date"))),
                ("ship to", found["shipping_address"]),
                ("upload", f"{found['upload_id']} (line {found['row_number']})"),
                ("created", when(found.get("created_at"))),
            ]
        )
    )
    moves = found.get("status_history") or []
    if len(moves) > 1:
        click.echo("")
        click.echo(table(moves[1:], HISTORY_COLUMNS))


HISTORY_COLUMNS = [
    Column("WHEN (UTC)", lambda h: when(h.get("at"))),
    Column("FROM", lambda h: h.get("from")),
    Column("TO", lambda h: h.get("to")),
    Column("BY", lambda h: h.get("actor")),
    Column("REASON", lambda h: h.get("reason"), max_width=60),
]


@click.command()
@click.argument("order_id")
@click.option("--reason", help="Why (kept in the order's history).")
@json_option
@click.pass_obj
def cancel(client: ApiClient, order_id: str, reason: str | None, as_json: bool) -> None:
    """Cancel the order ORDER_ID; its reserved stock goes back to IMS."""
    changed = client.cancel_order(order_id, reason)
    if as_json:
        echo_json(changed)
        return
    click.echo(f"order {changed['order_id']} is {changed['status']}")


@click.command("move")
@click.argument("order_id")
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--reason", help="Why (kept in the order's history).")
@json_option
@click.pass_obj
def move(client: ApiClient, order_id: str, status: str, reason: str | None, as_json: bool) -> None:
    """Move the order ORDER_ID to STATUS (e.g. confirmed -> fulfilled)."""
    changed = client.move_order(order_id, status, reason)
    if as_json:
        echo_json(changed)
        return
    click.echo(f"order {changed['order_id']} is {changed['status']}")
