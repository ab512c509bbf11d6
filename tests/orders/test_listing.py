"""Order and upload listings: block-keyed keyset pagination, on the real store."""

from __future__ import annotations

import uuid

import pytest

from oms.orders import listing
from oms.orders.store import BLOCK_ROWS, block_key, orders
from oms.stores import mongo
from oms.stores.pages import InvalidCursor, decode_cursor, encode_cursor
from oms.uploads import listing as upload_listing
from oms.uploads import repository as repo
from oms.uploads.status import UploadStatus

pytestmark = pytest.mark.integration

HUBS = ("HUB-A", "HUB-B", "HUB-C")


def _upload(records: int, *, skip_every: int = 0, backordered_every: int = 0) -> dict:
    """An upload of ``records`` file records, whose orders are stored directly; every
    ``skip_every``-th record is an invalid row (no order)."""
    upload_id = uuid.uuid4().hex
    repo.create_upload(
        upload_id, filename="l.csv", key=f"k/{upload_id}", size=1, sha256="0", chunk_rows=1000
    )
    mongo.update_one(repo.uploads(), {"_id": upload_id}, {"$set": {"rows_total": records}})
    docs = []
    for ordinal in range(records):
        if skip_every and ordinal % skip_every == skip_every - 1:
            continue
        line = ordinal + 2
        status = (
            "backordered" if backordered_every and ordinal % backordered_every == 0 else "on_hold"
        )
        docs.append(
            {
                "_id": f"{upload_id}:{line}",
                "_v": 0,
                "order_id": f"{upload_id}-{line}",
                "upload_id": upload_id,
                "row_number": line,
                "block": block_key(upload_id, ordinal),
                "status": status,
                "hub_id": HUBS[ordinal % len(HUBS)],
            }
        )
    if docs:
        orders().insert_many(docs)
    return {"upload_id": upload_id, "orders": docs, **repo.get_upload(upload_id)}


def _follow(page_size: int, **filters) -> tuple[list[str], list[int]]:
    """Every order id of the listing by following ``next``; and each page's length."""
    ids: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:
        page = listing.list_orders(page_size, cursor, **filters)
        ids.extend(doc["order_id"] for doc in page.items)
        sizes.append(len(page.items))
        if page.next is None:
            return ids, sizes
        cursor = page.next


def test_following_next_lists_every_order_of_an_upload_once_in_file_order(fresh_settings):
    upload = _upload(523, skip_every=7)

    ids, sizes = _follow(40, upload_id=upload["upload_id"])

    assert ids == [doc["order_id"] for doc in upload["orders"]]
    assert all(size == 40 for size in sizes[:-1]) and 0 < sizes[-1] <= 40


def test_filters_by_hub_and_status_narrow_each_page(fresh_settings):
    upload = _upload(400, backordered_every=9)
    wanted_hub = [d["order_id"] for d in upload["orders"] if d["hub_id"] == "HUB-B"]
    wanted_status = [
        d["order_id"]
        for d in upload["orders"]
        if d["status"] == "backordered" and d["hub_id"] == "HUB-A"
    ]

    by_hub, _ = _follow(25, upload_id=upload["upload_id"], hub_id="HUB-B")
    by_both, _ = _follow(7, upload_id=upload["upload_id"], hub_id="HUB-A", status="backordered")

    assert by_hub == wanted_hub
    assert by_both == wanted_status


def test_without_an_upload_filter_the_newest_upload_comes_first(fresh_settings):
    older = _upload(60)
    newer = _upload(45)

    page = listing.list_orders(200)

    expected = [d["order_id"] for d in newer["orders"]] + [d["order_id"] for d in older["orders"]]
    assert [doc["order_id"] for doc in page.items] == expected and page.next is None


def test_a_sparse_filter_gives_short_pages_that_go_on_until_the_end(fresh_settings):
    """A page examines at most MAX_BLOCKS blocks, then hands out a cursor."""
    records = BLOCK_ROWS * (listing.MAX_BLOCKS * 2 + 5)
    upload = _upload(records, backordered_every=BLOCK_ROWS * 40)
    wanted = [d["order_id"] for d in upload["orders"] if d["status"] == "backordered"]

    ids, sizes = _follow(20, upload_id=upload["upload_id"], status="backordered")

    assert ids == wanted and len(wanted) == 4
    # Blocks 0, 40, 80, 120 hold them; a page examines 60 blocks.
    assert sizes == [2, 1, 1]


def test_an_exactly_full_last_page_has_no_next(fresh_settings):
    upload = _upload(60)

    page = listing.list_orders(60, upload_id=upload["upload_id"])

    assert len(page.items) == 60 and page.next is None


def test_an_unknown_upload_lists_nothing(fresh_settings):
    page = listing.list_orders(20, upload_id="0" * 32)

    assert page.items == [] and page.next is None


def test_a_cursor_not_handed_out_by_the_api_is_refused():
    for bad in (
        "not-base64!",
        encode_cursor({"s": 1}),
        encode_cursor({"s": True, "u": "x", "b": 0, "r": 0}),
    ):
        with pytest.raises(InvalidCursor):
            decode_cursor(bad, required=("s", "u", "b", "r"))


def test_uploads_are_listed_newest_first_and_every_one_once(fresh_settings):
    made = [_upload(0)["upload_id"] for _ in range(45)]

    seen: list[str] = []
    cursor = None
    while True:
        page = upload_listing.list_uploads(20, cursor)
        seen.extend(doc["_id"] for doc in page.items)
        if page.next is None:
            break
        cursor = page.next

    assert seen == list(reversed(made))


def test_uploads_by_status(fresh_settings):
    rejected = _upload(0)["upload_id"]
    queued = _upload(0)["upload_id"]
    repo.transition(rejected, UploadStatus.REJECTED, error="test")

    rejected_page = upload_listing.list_uploads(200, status="rejected")
    queued_page = upload_listing.list_uploads(200, status="queued")

    assert [d["_id"] for d in rejected_page.items] == [rejected]
    assert [d["_id"] for d in queued_page.items] == [queued]
