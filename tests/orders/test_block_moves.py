"""The finalizer's confirmations written by PostgreSQL on the local store
(``devstack/ferretdb_moves.py``) leave each order exactly as FerretDB's own update would:
the same stored JSONB, the same document read back. Real FerretDB and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from devstack import ferretdb_moves, ferretdb_store, postgres
from oms.orders import finalize
from oms.orders.status import OrderStatus
from oms.orders.store import ORDERS, orders
from oms.orders.workflow import entry, move_update
from oms.stores import mongo
from tests.orders.support import set_available, stored_on_hold
from tests.pipeline.rows import HUBS, SKUS

pytestmark = pytest.mark.integration

ON_HOLD, CONFIRMED = OrderStatus.ON_HOLD, OrderStatus.CONFIRMED
REASON, ACTOR = finalize.CONFIRM_REASON, finalize.ACTOR
PAIR = (SKUS[4], HUBS[2])


def _stored(count: int) -> list[dict]:
    return stored_on_hold("BM", count, *PAIR)


def _raw(order_id: str) -> dict:
    """The order's row as PostgreSQL holds it."""
    with psycopg.connect(postgres.conninfo(postgres.FERRETDB_DATABASE)) as conn:
        table = ferretdb_store.tables(conn, mongo.db().name)[ORDERS]
        row = conn.execute(
            f'SELECT _jsonb FROM "{mongo.db().name}"."{table}" WHERE _jsonb->>\'order_id\' = %s',
            (order_id,),
        ).fetchone()
    return row[0]


def _confirm(docs: list[dict], at: datetime) -> set[str]:
    return ferretdb_moves.confirm(
        mongo.db().name,
        ORDERS,
        sorted({d["block"] for d in docs}),
        [d["order_id"] for d in docs],
        str(ON_HOLD),
        str(CONFIRMED),
        entry(ON_HOLD, CONFIRMED, REASON, ACTOR, at),
    )


def _same_but_ids(doc: dict, like: dict) -> dict:
    """``doc`` with ``like``'s ids, to compare two orders that differ only by them."""
    return {**doc, **{key: like[key] for key in ("_id", "order_id", "row_number")}}


def test_postgres_writes_what_ferretdb_writes_for_the_same_move(settings):
    if not mongo.is_ferretdb(mongo.db()):
        pytest.skip("the local store only")
    by_ferretdb, by_postgres = _stored(2)
    at = datetime(2026, 12, 3, 8, 15, 30, 123_987, tzinfo=UTC)  # sub-millisecond part

    update = move_update(None, ON_HOLD, CONFIRMED, REASON, ACTOR, at)
    assert mongo.update_many(orders(), {"order_id": by_ferretdb["order_id"]}, update).modified_count
    assert _confirm([by_postgres], at) == {by_postgres["order_id"]}

    theirs, ours = _raw(by_ferretdb["order_id"]), _raw(by_postgres["order_id"])
    assert ours == _same_but_ids(theirs, like=ours)  # the stored JSONB, $s included
    read_back = orders().find_one({"order_id": by_postgres["order_id"]})
    expected = orders().find_one({"order_id": by_ferretdb["order_id"]})
    assert read_back == _same_but_ids(expected, like=read_back)
    assert list(read_back) == list(expected)  # key order too
    assert read_back["_v"] == 1 and read_back["status"] == "confirmed"
    assert read_back["status_history"][1]["at"] == at.replace(microsecond=123_000)


def test_only_orders_still_on_hold_and_in_the_format_are_moved(settings):
    if not mongo.is_ferretdb(mongo.db()):
        pytest.skip("the local store only")
    moved_before, odd, plain, other = _stored(4)
    at = datetime.now(UTC)
    mongo.update_one(
        orders(),
        {"order_id": moved_before["order_id"]},
        move_update(None, ON_HOLD, CONFIRMED, REASON, ACTOR, at),
    )
    # A document OMS did not write: updated_at is a string, not a date.
    mongo.update_one(orders(), {"order_id": odd["order_id"]}, {"$set": {"updated_at": "later"}})
    before = {d["order_id"]: _raw(d["order_id"]) for d in (moved_before, odd, other)}

    moved = _confirm([moved_before, odd, plain], at)

    assert moved == {plain["order_id"]}
    assert {d["order_id"]: _raw(d["order_id"]) for d in (moved_before, odd, other)} == before
    assert _confirm([plain], at) == set()  # a repeat changes nothing
    assert orders().find_one({"order_id": plain["order_id"]})["_v"] == 1


def test_the_finalizer_confirms_on_the_local_store_in_postgres(ims_service, settings, monkeypatch):
    """finalize() hands its block confirmations to PostgreSQL; FerretDB's update_many is
    left for what that did not move (here the order OMS did not write)."""
    if not mongo.is_ferretdb(mongo.db()):
        pytest.skip("the local store only")
    from oms.orders import events

    set_available(settings.ims_url, *PAIR, 100)
    docs = _stored(5)
    mongo.update_one(orders(), {"order_id": docs[0]["order_id"]}, {"$set": {"updated_at": "x"}})
    by_ferretdb: list[str] = []
    real_update_many = mongo.update_many

    def recording(collection, query, update):
        by_ferretdb.extend(query["order_id"]["$in"])
        return real_update_many(collection, query, update)

    monkeypatch.setattr(finalize.mongo, "update_many", recording)
    outcome = finalize.finalize([events.order_created(d) for d in docs])

    assert outcome.moved == 5
    assert by_ferretdb == [docs[0]["order_id"]]
    for doc in docs:
        stored = orders().find_one({"order_id": doc["order_id"]})
        assert stored["status"] == "confirmed"
        assert [h.get("actor") for h in stored["status_history"]] == [None, ACTOR]
