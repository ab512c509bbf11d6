"""Undoing an upload: every order it stored is cancelled through the workflow (stock
back at IMS, an order.updated event each), fulfilled ones are kept; progress by blocks,
counted once even when a run is cut short; nothing to undo is refused."""

from __future__ import annotations

import time
import uuid

import pytest

from oms.orders import undo
from oms.orders.commands import change_status
from oms.orders.status import OrderStatus
from oms.orders.store import orders
from oms.stores import mongo
from oms.uploads import repository as repo
from tests.namespaces import Written, assert_nothing_written
from tests.orders.support import available, finalizers, set_available, wait_until_final
from tests.pipeline.helpers import read_topic, stored_upload, upload_bytes, wait_for_upload
from tests.pipeline.rows import HUBS, SKUS, to_csv, valid_row

pytestmark = pytest.mark.integration

PAIR = (SKUS[2], HUBS[2])


def _wait_for_undo(api, upload_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        upload = api.get(f"/uploads/{upload_id}").get_json()
        if (upload.get("undo") or {}).get("status") in ("done", "failed"):
            return upload
        time.sleep(0.3)
    raise AssertionError(f"the undo of {upload_id} did not end in {timeout} s")


def _cancel_events(settings, upload_id: str, expect: int) -> dict[str, set[str]]:
    """order_id -> event ids of the upload's order.updated events to cancelled."""
    messages = read_topic(
        settings.kafka_bootstrap, settings.topic("order.updated"), expect=expect, idle_s=3
    )
    events: dict[str, set[str]] = {}
    for m in messages:
        value = m["value"]
        if value["upload_id"] == upload_id and value["status"] == "cancelled":
            events.setdefault(m["key"], set()).add(value["event_id"])
    return events


def test_an_undo_cancels_every_order_gives_the_stock_back_and_keeps_fulfilled_ones(
    api, pipeline, settings
):
    set_available(settings.ims_url, *PAIR, 3)
    prefix = f"UNDO{uuid.uuid4().hex[:4]}"
    rows = [
        valid_row(
            n,
            prefix=prefix,
            sku=PAIR[0],
            hub_id=PAIR[1],
            quantity="1",
            unit_price="10.00",
            total_amount="10.00",
        )
        for n in range(5)
    ]
    upload = wait_for_upload(api, upload_bytes(api, "undo.csv", to_csv(rows))["upload_id"])
    upload_id = upload["upload_id"]
    with finalizers(settings):
        final = wait_until_final(upload_id, len(rows))
    assert final == {"confirmed": 3, "backordered": 2}
    shipped = orders().find_one({"upload_id": upload_id, "status": "confirmed"})["order_id"]
    change_status(shipped, OrderStatus.FULFILLED, reason="shipped", actor="test")
    stock_before = available(settings.ims_url, *PAIR)

    answer = api.post(f"/uploads/{upload_id}/undo")
    done = _wait_for_undo(api, upload_id)
    again = api.post(f"/uploads/{upload_id}/undo")

    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["undo"]["status"] in ("running", "done")
    progress = done["undo"]
    assert progress["status"] == "done" and progress["blocks_done"] == progress["blocks_total"]
    assert (progress["cancelled"], progress["kept"]) == (4, 1)
    by_status = {o["order_id"]: o["status"] for o in orders().find({"upload_id": upload_id})}
    assert sorted(by_status.values()) == ["cancelled"] * 4 + ["fulfilled"]
    assert by_status[shipped] == "fulfilled"
    # the 2 confirmed ones gave theirs back; the backordered ones held none
    assert available(settings.ims_url, *PAIR) == stock_before + 2
    assert done["order_status"]["cancelled"] == 4 and done["order_status"]["fulfilled"] == 1
    events = _cancel_events(settings, upload_id, expect=4)
    assert set(events) == {oid for oid, status in by_status.items() if status == "cancelled"}
    assert all(len(ids) == 1 for ids in events.values())
    assert again.status_code == 202 and again.get_json()["undo"] == done["undo"]
    history = orders().find_one({"order_id": next(o for o in events)})["status_history"][-1]
    assert history["actor"] == "undo" and history["reason"] == f"upload {upload_id} undone"


def test_an_undo_cut_short_goes_on_and_counts_each_block_once(ims_service, settings):
    rows = [valid_row(n, prefix=f"UNDC{uuid.uuid4().hex[:4]}") for n in range(120)]
    upload_id = stored_upload("cut.csv", rows, chunk_rows=200)
    from oms.pipeline import chunk, finalize

    chunk.process_chunk(upload_id, 0)
    finalize.finalize_upload(upload_id)
    assert repo.get_upload(upload_id)["status"] == "completed"
    upload, send = undo.request_undo(upload_id)
    assert send and upload["undo"]["blocks_total"] == 3  # 50 records a block
    # A run that cancelled block 0's orders and died before recording the block:
    undo._undo_block(upload_id, 0, f"upload {upload_id} undone")

    progress = undo.run_undo(upload_id)  # the redelivered task

    assert (progress["status"], progress["blocks_done"]) == ("done", 3)
    assert (progress["cancelled"], progress["kept"]) == (120, 0)
    assert orders().count_documents({"upload_id": upload_id, "status": "cancelled"}) == 120
    assert undo.request_undo(upload_id) == (repo.get_upload(upload_id), False)


def test_nothing_to_undo_is_refused_and_writes_nothing(api, settings):
    check = stored_upload("check.csv", [valid_row(0, prefix="UNDCHK")])
    mongo.update_one(repo.uploads(), {"_id": check}, {"$set": {"check_only": True}})
    running = stored_upload("running.csv", [valid_row(0, prefix="UNDRUN")])
    before = Written.now(settings)

    of_check = api.post(f"/uploads/{check}/undo")
    of_running = api.post(f"/uploads/{running}/undo")
    missing = api.post("/uploads/no-such-upload/undo")

    assert of_check.status_code == 409 and of_check.get_json()["code"] == "not_undoable"
    assert "a check" in of_check.get_json()["message"]
    assert of_running.status_code == 409
    assert f"POST /uploads/{running}/cancel" in of_running.get_json()["message"]
    assert missing.status_code == 404
    assert_nothing_written(settings, before)
