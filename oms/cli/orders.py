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
    when,
)

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


@click.command()
@click.option("--status", help="Only orders with this status, e.g. on_hold.")
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
