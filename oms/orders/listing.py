"""Order listings: the newest upload's orders first, each upload's in file order.

Read block by block (``oms.stores.pages``): every query is ``{block: ..., <filters>}``,
all equalities, served by the ``block`` index on both stores and returning at most
``BLOCK_ROWS`` documents, ordered in memory. Filters on status and hub narrow each
block; a page that finds few matches stops after ``MAX_BLOCKS`` blocks and hands out a
cursor to go on from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from oms.errors import NotFound
from oms.orders.store import BLOCK_ROWS, orders
from oms.stores import mongo
from oms.stores.pages import Page, decode_cursor, encode_cursor
from oms.uploads import listing as upload_listing
from oms.uploads import repository as repo

MAX_BLOCKS = 60  # blocks one page may examine (3,000 orders)


@mongo.translating
def list_orders(
    page_size: int,
    cursor: str | None = None,
    *,
    upload_id: str | None = None,
    status: str | None = None,
    hub_id: str | None = None,
) -> Page:
    """One page of the orders matching the filters, and the cursor of the next page
    (None when no order is left)."""
    query = {name: value for name, value in (("status", status), ("hub_id", hub_id)) if value}
    start = _start(cursor, upload_id)
    page = Page()
    examined = 0
    for upload, block in _blocks(start, upload_id):
        if examined == MAX_BLOCKS:
            page.next = (
                _position(page.items[-1])
                if page.items
                else _encode(upload, block, _after(start, upload, block))
            )
            return page
        examined += 1
        after_row = _after(start, upload, block)
        limit = 0 if after_row else page_size - len(page.items) + 1
        found = orders().find({"block": f"{upload['_id']}:{block}", **query})
        for doc in found.sort("row_number", 1).limit(limit):
            if doc["row_number"] <= after_row:
                continue
            if len(page.items) == page_size:  # one more exists: the page ends before it
                page.next = _position(page.items[-1])
                return page
            doc["seq"] = upload["seq"]
            page.items.append(doc)
    return page


def _blocks(start: dict[str, Any], upload_id: str | None) -> Iterator[tuple[dict, int]]:
    """(upload, block number) in listing order, from the cursor's block on."""
    if upload_id is not None:
        try:
            uploads: Iterator[dict[str, Any]] = iter([repo.get_upload(upload_id)])
        except NotFound:
            return
    else:
        uploads = upload_listing.newest_first(from_seq=start["s"])
    for upload in uploads:
        first = start["b"] if upload["_id"] == start["u"] else 0
        for block in range(first, -(-upload.get("rows_total", 0) // BLOCK_ROWS)):
            yield upload, block


def _start(cursor: str | None, upload_id: str | None) -> dict[str, Any]:
    if cursor is None:
        return {"s": 0, "u": upload_id or "", "b": 0, "r": 0}
    return decode_cursor(cursor, required=("s", "u", "b", "r"))


def _after(start: dict[str, Any], upload: dict[str, Any], block: int) -> int:
    """Rows of this block up to this one were on earlier pages."""
    return start["r"] if (upload["_id"], block) == (start["u"], start["b"]) else 0


def _encode(upload: dict[str, Any], block: int, row: int) -> str:
    return encode_cursor({"s": upload["seq"], "u": upload["_id"], "b": block, "r": row})


def _position(order: dict[str, Any]) -> str:
    """The cursor of the page that starts just after ``order``."""
    block = int(order["block"].rsplit(":", 1)[1])
    return encode_cursor(
        {"s": order["seq"], "u": order["upload_id"], "b": block, "r": order["row_number"]}
    )
