"""The order status workflow: one table, enforced; races with one winner; cancel gives
stock back exactly once; backorders get arriving stock oldest first."""

from __future__ import annotations

import itertools
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from oms.orders import backorders, counts
from oms.orders.commands import change_status
from oms.orders.status import TRANSITIONS, OrderStatus, may_move
from oms.orders.store import block_key, orders
from oms.orders.workflow import TransitionRefused, backorder_key
from oms.uploads import repository as repo
from tests.orders.support import IMS_KEY, available, set_available
from tests.pipeline.helpers import read_topic
from tests.pipeline.rows import HUBS, SKUS

pytestmark = pytest.mark.integration

S = OrderStatus
EXPECTED = {  # (from, to) pairs the workflow allows; every other pair is refused
    (S.ON_HOLD, S.CONFIRMED),
    (S.ON_HOLD, S.BACKORDERED),
    (S.ON_HOLD, S.CANCELLED),
    (S.BACKORDERED, S.CONFIRMED),
    (S.BACKORDERED, S.CANCELLED),
    (S.CONFIRMED, S.FULFILLED),
    (S.CONFIRMED, S.CANCELLED),
}


def test_the_transition_table_allows_exactly_the_workflow():
    for source, target in itertools.product(S, S):
        assert may_move(source, target) == ((source, target) in EXPECTED), (source, target)
    assert set(TRANSITIONS) == set(S)


def _order(
    settings,
    status: OrderStatus,
    sku: str,
    hub_id: str,
    quantity: int = 1,
    at: datetime | None = None,
) -> dict:
    """An order in ``status``, stored as the pipeline and the finalizer leave it; a
    confirmed one holds its stock at IMS."""
    order_id = f"WF-{uuid.uuid4().hex[:12]}"
    if settings.mongo_db not in _UPLOADS:
        _UPLOADS[settings.mongo_db] = _upload()
    upload_id = _UPLOADS[settings.mongo_db]
    at = at or datetime.now(UTC)
    history = [{"status": "on_hold", "at": at}]
    doc = {
        "_id": f"{upload_id}:{order_id}",
        "_v": 0,
        "order_id": order_id,
        "upload_id": upload_id,
        "row_number": 2,
        "block": block_key(upload_id, 0),
        "customer": {"name": "W", "email": "w@example.com"},
        "item": {
            "sku": sku,
            "product_name": "P",
            "quantity": quantity,
            "unit_price_cents": 1000,
            "total_amount_cents": 1000 * quantity,
        },
        "hub_id": hub_id,
        "order_date": at,
        "shipping_address": "1 Road",
        "status": str(status),
        "status_history": history,
        "created_at": at,
        "updated_at": at,
    }
    if status != S.ON_HOLD:
        history.append(
            {
                "status": str(status),
                "from": "on_hold",
                "to": str(status),
                "at": at,
                "reason": "test",
                "actor": "finalizer",
            }
        )
    if status == S.BACKORDERED:
        doc.update(backorder_key=backorder_key(sku, hub_id), backordered_at=at)
    if status == S.CONFIRMED:
        response = requests.post(
            f"{settings.ims_url}/v1/reservations",
            headers=IMS_KEY,
            json={"order_id": order_id, "sku": sku, "hub_id": hub_id, "quantity": quantity},
            timeout=10,
        )
        assert response.json()["reserved"] is True, response.text
    orders().insert_one(doc)
    return doc


_UPLOADS: dict[str, str] = {}  # namespace -> the upload its test orders belong to


def _upload() -> str:
    upload_id = uuid.uuid4().hex
    repo.create_upload(upload_id, filename="wf.csv", key="k", size=1, sha256="0", chunk_rows=10)
    return upload_id


PAIR = (SKUS[5], HUBS[0])


def test_a_forbidden_move_answers_409_naming_the_allowed_ones(api, ims_service, settings):
    order = _order(settings, S.BACKORDERED, *PAIR)

    response = api.post(f"/orders/{order['order_id']}/status", json={"status": "fulfilled"})

    body = response.get_json()
    assert response.status_code == 409
    assert body["code"] == "transition_not_allowed"
    assert body["current_status"] == "backordered"
    assert body["allowed"] == ["cancelled", "confirmed"]
    assert orders().find_one({"order_id": order["order_id"]})["_v"] == 0  # nothing written


def test_an_allowed_move_is_recorded_and_announced(api, ims_service, settings):
    set_available(settings.ims_url, *PAIR, 10)
    order = _order(settings, S.CONFIRMED, *PAIR)

    response = api.post(
        f"/orders/{order['order_id']}/status",
        json={"status": "fulfilled", "reason": "shipped by DHL"},
    )

    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "fulfilled"
    last = body["status_history"][-1]
    assert (last["from"], last["to"], last["reason"], last["actor"]) == (
        "confirmed",
        "fulfilled",
        "shipped by DHL",
        "api",
    )
    events = [
        m
        for m in read_topic(
            settings.kafka_bootstrap, settings.topic("order.updated"), expect=1, idle_s=2
        )
        if m["key"] == order["order_id"]
    ]
    assert [(e["value"]["previous_status"], e["value"]["status"]) for e in events] == [
        ("confirmed", "fulfilled")
    ]
    assert orders().find_one({"order_id": order["order_id"]}).get("outbox") is None


def test_two_racing_moves_of_one_order_have_one_winner(ims_service, settings):
    set_available(settings.ims_url, *PAIR, 10)
    for _ in range(5):
        order = _order(settings, S.CONFIRMED, *PAIR)
        results: list[object] = []

        def move(
            target: OrderStatus, order_id: str = order["order_id"], results: list[object] = results
        ) -> None:
            try:
                results.append(change_status(order_id, target, reason="race", actor="test")[1])
            except TransitionRefused as exc:
                results.append(exc)

        threads = [threading.Thread(target=move, args=(t,)) for t in (S.FULFILLED, S.CANCELLED)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        stored = orders().find_one({"order_id": order["order_id"]})
        assert results.count(True) == 1, results
        assert len(stored["status_history"]) == 3  # on_hold, confirmed, the winner


def test_cancel_called_twice_at_once_gives_the_stock_back_once(api, ims_service, settings):
    set_available(settings.ims_url, *PAIR, 10)
    order = _order(settings, S.CONFIRMED, *PAIR, quantity=3)
    assert available(settings.ims_url, *PAIR) == 7
    upload = repo.get_upload(order["upload_id"])
    before = counts.for_upload(upload)
    answers: list[int] = []

    def cancel() -> None:
        answers.append(api.post(f"/orders/{order['order_id']}/cancel").status_code)

    threads = [threading.Thread(target=cancel) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stored = orders().find_one({"order_id": order["order_id"]})
    assert answers == [200, 200]
    assert stored["status"] == "cancelled"
    assert [h.get("to") for h in stored["status_history"]].count("cancelled") == 1
    assert available(settings.ims_url, *PAIR) == 10  # 3 back, once
    after = counts.for_upload(repo.get_upload(order["upload_id"]))
    assert after["cancelled"] - before["cancelled"] == 1
    assert stored.get("release_pending") is None


def test_arriving_stock_goes_to_the_oldest_backorders_first(ims_service, settings):
    pair = (SKUS[6], HUBS[1])
    set_available(settings.ims_url, *pair, 0)
    start = datetime.now(UTC) - timedelta(minutes=10)
    waiting = [
        _order(settings, S.BACKORDERED, *pair, at=start + timedelta(seconds=n)) for n in (3, 1, 2)
    ]  # stored out of order on purpose
    backorders.offer_new_stock()  # reads the feed up to now: nothing for the pair yet
    response = requests.post(
        f"{settings.ims_url}/v1/inventory/adjust",
        headers=IMS_KEY,
        json={"sku": pair[0], "hub_id": pair[1], "delta": 2, "reason": "stock arrived"},
        timeout=10,
    )
    response.raise_for_status()

    offered = backorders.offer_new_stock()

    status = {
        o["order_id"]: orders().find_one({"order_id": o["order_id"]})["status"] for o in waiting
    }
    oldest, youngest = waiting[1], waiting[0]
    assert offered["confirmed"] == 2
    assert status[oldest["order_id"]] == status[waiting[2]["order_id"]] == "confirmed"
    assert status[youngest["order_id"]] == "backordered"
    assert available(settings.ims_url, *pair) == 0
