"""The local store (FerretDB 1.24.2 on PostgreSQL) and what OMS does about its defects.

Each test here would fail if its workaround were removed: the version trigger
(lost updates, two winners of one conditional update), the GIN indexes (sequential
scans), one index per createIndexes command (a panic), bulk updates in small commands
(a hang).
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid

import pymongo
import pytest
from pymongo.operations import IndexModel

from devstack import ferretdb_store, postgres
from oms.stores import mongo

pytestmark = pytest.mark.integration


def _collection(name: str):
    """A fresh collection of this session's database, prepared like OMS's own."""
    database = mongo.db()
    database.drop_collection(name)
    database.create_collection(name)
    ferretdb_store.prepare(database.name, {name: ("_id", "key")}, (name,))
    return database[name]


def _table(collection: str) -> str:
    import psycopg

    with psycopg.connect(postgres.conninfo(postgres.FERRETDB_DATABASE)) as conn:
        return dict(ferretdb_store.tables(conn, mongo.db().name))[collection]


def _increment(args: tuple[str, str, str, int]) -> None:
    uri, db_name, name, times = args
    with pymongo.MongoClient(uri) as client:
        collection = client[db_name][name]
        for _ in range(times):
            mongo.update_one(collection, {"_id": "counter"}, {"$inc": {"value": 1}})


def _move(args: tuple[str, str, str, int, int]) -> int:
    uri, db_name, name, docs, worker = args
    won = 0
    with pymongo.MongoClient(uri) as client:
        collection = client[db_name][name]
        for n in range(docs):
            result = mongo.update_one(
                collection,
                {"_id": f"d{n}", "status": "on_hold"},
                {"$set": {"status": "moved", "by": worker}},
            )
            won += result.modified_count
    return won


def test_concurrent_increments_are_never_lost(settings):
    collection = _collection("race_inc")
    collection.insert_one({"_id": "counter", "value": 0, "_v": 0})
    work = [(settings.mongo_uri, settings.mongo_db, "race_inc", 150)] * 4

    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_increment, work)

    counter = collection.find_one({"_id": "counter"})
    assert counter["value"] == 600
    assert counter["_v"] == 600


def test_a_conditional_update_raced_by_four_processes_has_exactly_one_winner(settings):
    collection = _collection("race_move")
    collection.insert_many([{"_id": f"d{n}", "status": "on_hold", "_v": 0} for n in range(150)])
    work = [(settings.mongo_uri, settings.mongo_db, "race_move", 150, w) for w in range(4)]

    with multiprocessing.get_context("spawn").Pool(4) as pool:
        wins = pool.map(_move, work)

    assert sum(wins) == 150
    assert collection.count_documents({"status": "moved"}) == 150


def test_a_write_based_on_a_stale_read_is_refused_as_a_write_conflict(settings):
    collection = _collection("race_stale")
    collection.insert_one({"_id": "x", "value": 1, "_v": 0})

    # A plain update does not bump the version, so it is what a stale writer looks like.
    with pytest.raises(pymongo.errors.OperationFailure) as refused:
        collection.update_one({"_id": "x"}, {"$set": {"value": 2}})

    assert mongo.is_write_conflict(refused.value)
    assert collection.find_one({"_id": "x"})["value"] == 1


def test_every_lookup_field_is_served_by_an_index(settings):
    """EXPLAIN of the SQL that FerretDB sends for a pushed-down equality."""
    import psycopg
    from psycopg import sql

    mongo.ensure_indexes()
    database = mongo.db()
    with psycopg.connect(postgres.conninfo(postgres.FERRETDB_DATABASE)) as conn:
        tables = dict(
            conn.execute(
                sql.SQL("SELECT _jsonb->>'_id', _jsonb->>'table' FROM {}").format(
                    sql.Identifier(database.name, ferretdb_store.METADATA_TABLE)
                )
            )
        )
        conn.execute("SET enable_seqscan = off")  # empty tables: ask whether an index *can*
        for collection, lookup_fields in mongo.LOOKUPS.items():
            for field in lookup_fields:
                plan = conn.execute(
                    sql.SQL("EXPLAIN SELECT _jsonb FROM {} WHERE _jsonb -> {} @> %s::jsonb").format(
                        sql.Identifier(database.name, tables[collection]), sql.Literal(field)
                    ),
                    ('"x"',),
                ).fetchall()
                text = "\n".join(row[0] for row in plan)
                assert "Index" in text and "Seq Scan" not in text, (collection, field, text)


def test_a_lookup_uses_the_gin_index_through_ferretdb(settings):
    """The real path: pymongo -> FerretDB -> PostgreSQL; PostgreSQL counts index scans."""
    import psycopg

    orders = _collection("index_use")
    key = f"IDX-{uuid.uuid4().hex[:8]}"
    orders.insert_many([{"_id": f"{key}-{n}", "key": f"{key}-{n}", "_v": 0} for n in range(5000)])
    index = "%key_pgin"
    with psycopg.connect(postgres.conninfo(postgres.FERRETDB_DATABASE), autocommit=True) as c:
        c.execute(f'ANALYZE "{mongo.db().name}"."{_table("index_use")}"')

    def scans() -> int:
        with psycopg.connect(postgres.conninfo(postgres.FERRETDB_DATABASE)) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                "SELECT sum(idx_scan) FROM pg_stat_user_indexes WHERE schemaname = %s "
                "AND indexrelname LIKE %s",
                (mongo.db().name, index),
            ).fetchone()
            return int(row[0] or 0)

    before = scans()
    assert orders.find_one({"key": f"{key}-77"})["_id"] == f"{key}-77"
    deadline = time.monotonic() + 10
    while scans() == before and time.monotonic() < deadline:  # stats are flushed lazily
        time.sleep(0.2)
    assert scans() > before


def _pending_pages_cleaned(collection: str, field: str) -> int:
    """Moves the entries waiting in the pending list of ``collection``'s GIN index on
    ``field`` into the index; how many pending pages there were."""
    import psycopg

    index = ferretdb_store._index_name(_table(collection), field)
    with psycopg.connect(postgres.conninfo(postgres.FERRETDB_DATABASE), autocommit=True) as c:
        row = c.execute(
            "SELECT gin_clean_pending_list(%s::regclass)", (f'"{mongo.db().name}"."{index}"',)
        ).fetchone()
    assert row is not None
    return int(row[0])


def _insert_keys(collection, count: int) -> None:
    key = uuid.uuid4().hex[:8]
    collection.insert_many(
        [{"_id": f"{key}-{n}", "key": f"{key}-{n}", "_v": 0} for n in range(count)]
    )


def test_lookup_indexes_have_no_pending_list_for_lookups_to_read(settings):
    """Inserted entries go straight into the index: nothing waits in a pending list that
    every lookup would read whole (it grew to 175 ms per lookup during an ingestion)."""
    collection = _collection("no_pending_list")
    _insert_keys(collection, 3000)

    assert _pending_pages_cleaned("no_pending_list", "key") == 0


def test_an_index_made_with_a_pending_list_loses_it_when_prepared_again(settings):
    import psycopg

    collection = _collection("old_pending_list")
    index = ferretdb_store._index_name(_table("old_pending_list"), "key")
    qualified = f'"{mongo.db().name}"."{index}"'
    with psycopg.connect(postgres.conninfo(postgres.FERRETDB_DATABASE), autocommit=True) as c:
        c.execute(f"ALTER INDEX {qualified} SET (fastupdate = on)")  # as made before
    _insert_keys(collection, 3000)

    prepared = ferretdb_store.prepare(mongo.db().name, {"old_pending_list": ("_id", "key")}, ())

    assert prepared["altered"] == 1
    assert _pending_pages_cleaned("old_pending_list", "key") == 0  # prepare moved them
    _insert_keys(collection, 3000)
    assert _pending_pages_cleaned("old_pending_list", "key") == 0
    again = ferretdb_store.prepare(mongo.db().name, {"old_pending_list": ("_id", "key")}, ())
    assert again["altered"] == 0


def test_creating_existing_indexes_again_keeps_the_connection(settings):
    collection = _collection("indexes_twice")
    models = [IndexModel("a", unique=True, name="a"), IndexModel("b", unique=True, name="b")]

    mongo.create_indexes(collection, models)
    mongo.create_indexes(collection, models)

    assert mongo.client().admin.command("ping")["ok"] == 1.0
    assert {index["name"] for index in collection.list_indexes()} == {"_id_", "a", "b"}


def test_ferretdb_gets_only_the_unique_mongodb_indexes(settings):
    """Its B-trees serve no query; each would cost every insert and update."""
    mongo.ensure_indexes()

    names = {index["name"] for index in mongo.db()["orders"].list_indexes()}
    assert names == {"_id_", "order_id_unique"}


def test_a_plain_multi_index_command_on_existing_indexes_is_the_defect_worked_around(settings):
    """Documents why ensure_indexes sends one index per command: FerretDB 1.24.2 drops
    the connection on this (if a FerretDB upgrade fixes it, this test says so)."""
    collection = _collection("multi_index")
    models = [IndexModel("a", name="a"), IndexModel("b", name="b")]
    collection.create_indexes(models)

    with pytest.raises(pymongo.errors.AutoReconnect):
        collection.create_indexes(models)


def test_bulk_updates_of_hundreds_from_several_threads_complete(settings):
    collection = _collection("bulk")
    collection.insert_many([{"_id": f"d{n}", "key": "k", "s": 0, "_v": 0} for n in range(600)])
    changed: list[int] = []

    def update(part: int) -> None:
        ids = range(part * 200, part * 200 + 200)
        changed.append(
            mongo.bulk_update(
                collection, [({"_id": f"d{n}", "s": 0}, {"$set": {"s": 1}}) for n in ids]
            )
        )

    threads = [threading.Thread(target=update, args=(part,)) for part in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads)
    assert sorted(changed) == [200, 200, 200]
    assert collection.count_documents({"s": 1}) == 600


def test_group_with_two_accumulators_is_the_defect_oms_avoids(settings):
    """FerretDB 1.24.2 computes only the first accumulator of a $group (a shared
    iterator in its group stage): OMS never aggregates so; counts are counters. If an
    upgrade fixes it, this test says so."""
    collection = _collection("group_defect")
    collection.insert_many([{"_id": n, "v": 2, "_v": 0} for n in range(3)])

    [result] = collection.aggregate(
        [{"$group": {"_id": None, "s": {"$sum": "$v"}, "n": {"$sum": 1}}}]
    )

    assert result["s"] == 6
    assert result["n"] == 0  # MongoDB says 3


def test_decimal128_is_the_defect_integer_cents_avoid(settings):
    """A Decimal128 makes FerretDB 1.24.2 drop the connection; OMS stores cents."""
    from bson.decimal128 import Decimal128

    collection = _collection("decimal_defect")

    with pytest.raises(pymongo.errors.PyMongoError):
        collection.insert_one({"_id": "d", "price": Decimal128("19.99")})
    assert mongo.client().admin.command("ping")["ok"] == 1.0  # the client reconnects


def test_a_stopped_postgresql_is_unavailable_not_a_bug(settings):
    """FerretDB relays its PostgreSQL being away as InternalError: it must read as
    transient, so tasks retry instead of marking chunks failed."""
    import signal

    from devstack import processes
    from oms.errors import NotFound, Unavailable
    from oms.uploads import repository as repo

    processes.stop("postgres", stop_signal=signal.SIGINT)
    try:
        with pytest.raises(Unavailable, match="store unavailable"):
            repo.get_upload("0" * 32)
    finally:
        from devstack.cli import BY_NAME

        processes.start(BY_NAME["postgres"])
    with pytest.raises(NotFound):  # back: an answer again
        repo.get_upload("0" * 32)


def test_a_document_over_the_toast_threshold_is_compressed_with_lz4(settings):
    """A finalized order (about 2.1 KB) is compressed on every write: lz4, not pglz
    (devstack/postgres.py has the figures)."""
    import psycopg

    collection = _collection("toast_compression")
    collection.insert_one({"_id": "big", "key": "big", "_v": 0, "text": uuid.uuid4().hex * 80})
    with psycopg.connect(postgres.conninfo(postgres.FERRETDB_DATABASE)) as conn:
        table = dict(ferretdb_store.tables(conn, mongo.db().name))["toast_compression"]
        row = conn.execute(
            f'SELECT pg_column_compression(_jsonb) FROM "{mongo.db().name}"."{table}"'
        ).fetchone()

    assert row == ("lz4",)


def test_the_api_prepares_the_local_store_in_a_child_and_never_loads_psycopg(fresh_settings):
    """The API's workers keep what they import: psycopg and libpq would be ~10 MB of each
    one's RSS (issue 12: the API under 120 MB), for a preparation done once at start."""
    import dataclasses
    import json
    import subprocess
    import sys

    from tests.conftest import child_env

    api_settings = dataclasses.replace(fresh_settings, mongo_db=f"{fresh_settings.mongo_db}_api")
    script = (
        "import json, sys\n"
        "from oms.api.app import create_app\n"
        "create_app()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'psycopg')))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=child_env(api_settings),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.strip().splitlines()[-1]) == []
        # The child prepared the API's database: nothing is left to create or convert.
        again = ferretdb_store.prepare(api_settings.mongo_db, mongo.LOOKUPS, tuple(mongo.LOOKUPS))
        assert again == {"indexes": 0, "triggers": 0, "altered": 0}
        assert set(mongo.client()[api_settings.mongo_db].list_collection_names()) >= set(
            mongo.LOOKUPS
        )
    finally:
        mongo.client().drop_database(api_settings.mongo_db)
