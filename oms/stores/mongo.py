"""MongoDB (FerretDB on PostgreSQL locally, MongoDB 7 in docker-compose): client, indexes,
and the writes every OMS module goes through.

Two rules keep the same code correct and fast on both servers (docs/architecture.md):

* **Queries are top-level equalities on fields listed in ``LOOKUPS``.** FerretDB 1.24
  pushes only those down to PostgreSQL; ``$in``, ranges, ``$or`` and dotted paths are
  filtered in Go after reading every row of the collection. Listings page by an
  equality on a ``block`` field (see ``oms.stores.pages``) instead of sorting and
  skipping, and every field of ``LOOKUPS`` gets an index on either server.
* **Every update goes through ``update_one``/``update_many``/``find_one_and_update``
  here**, which increment the document's version ``_v`` and retry a write conflict.
  FerretDB 1.24 does updates as unlocked read-modify-write; on the local stack a
  trigger turns a write based on a stale read into a conflict
  (``devstack/ferretdb_store.py``). MongoDB raises its own WriteConflict (112) in the
  same places, so the retry is not FerretDB-only.
"""

from __future__ import annotations

import functools
import inspect
import logging
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import pymongo
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import (
    BulkWriteError,
    CollectionInvalid,
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    OperationFailure,
    WTimeoutError,
)
from pymongo.operations import IndexModel
from pymongo.results import UpdateResult

from oms.config import get_settings
from oms.errors import Unavailable
from oms.stores.process_local import per_process

log = logging.getLogger(__name__)

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

# What a MongoDB client raises when the server is away or slow: connection lost or
# refused, no server selected, network timeout, not primary (an election), operation or
# write-concern timeout. Any other error is a bug and is not retried.
TRANSIENT_ERRORS = (ConnectionFailure, ExecutionTimeout, WTimeoutError)

VERSION = "_v"
WRITE_CONFLICT = 112  # MongoDB's WriteConflict
NAMESPACE_EXISTS = 48
PREPARE_TIMEOUT_S = 120  # the local store's indexes, in a child process (ensure_indexes)
CONFLICT_RETRIES = 60

# FerretDB 1.24.2 defect: a bulk_write with more than 50 operations hangs: the handler
# holds a pooled PostgreSQL connection per statement until the command ends
# (``defer closer.Close()`` inside its loop in handler/msg_update.go) and the pool has 50,
# shared by every client, so two concurrent commands of 30 hang too. bulk_update sends
# at most this many per command; on FerretDB a bulk update costs the same per document as
# update_one (1.2-1.5 ms, measured), so small commands lose nothing.
MAX_BULK_OPERATIONS = 10

# collection -> top-level fields OMS finds documents by, with equality only. (Orders are
# never looked up by _id: every index costs each insert and update its own entry.)
LOOKUPS: dict[str, tuple[str, ...]] = {
    "orders": ("order_id", "block", "backorder_key", "outbox", "release_pending"),
    "uploads": ("_id", "seq", "block", "status", "sha256", "undoing", "webhooks_owed"),
    "chunks": ("_id", "upload_id"),
    "counters": ("_id",),
    "finalizer_checkpoints": ("_id",),
    "mappings": ("_id",),
    "checked_orders": ("_id", "upload_id"),
    "webhooks": ("_id",),
    "webhook_deliveries": ("_id", "webhook_id", "pending"),
}

# MongoDB indexes: what MongoDB 7 needs for the same lookups, plus uniqueness. FerretDB
# gets only the unique ones: its B-trees serve no query (``ferretdb_store`` adds the
# indexes it uses instead) and each would cost every write.
INDEXES: dict[str, list[IndexModel]] = {
    "orders": [
        IndexModel("order_id", unique=True, name="order_id_unique"),
        IndexModel("block", name="block"),
    ],
    "uploads": [
        IndexModel("seq", unique=True, name="seq_unique"),
        IndexModel("block", name="block"),
        IndexModel("status", name="status"),
        IndexModel("sha256", name="sha256"),
        IndexModel("webhooks_owed", name="webhooks_owed", sparse=True),
    ],
    "chunks": [IndexModel([("upload_id", 1), ("index", 1)], name="upload_chunk")],
    "webhook_deliveries": [
        IndexModel("webhook_id", name="webhook_id"),
        IndexModel("pending", name="pending", sparse=True),
    ],
}


# FerretDB answers InternalError (code 1) when its PostgreSQL is away; these are the
# words of pgx and PostgreSQL for it (refused, shut down, restarting, connection lost).
_BACKEND_AWAY = (
    "failed to connect to",
    "connection refused",
    "SQLSTATE 57P01",
    "SQLSTATE 57P02",
    "SQLSTATE 57P03",
    "SQLSTATE 08",
    "conn closed",
    "unexpected EOF",
    "connection reset by peer",
    "broken pipe",
)


def backend_unavailable(exc: OperationFailure) -> bool:
    """The local store's PostgreSQL did not answer (FerretDB relays it as code 1)."""
    return exc.code == 1 and any(words in str(exc) for words in _BACKEND_AWAY)


@contextmanager
def translated() -> Iterator[None]:
    """MongoDB's transient errors become ``Unavailable`` (the caller retries later)."""
    try:
        yield
    except TRANSIENT_ERRORS as exc:
        raise Unavailable(f"MongoDB unavailable: {exc}") from exc
    except OperationFailure as exc:
        if backend_unavailable(exc):
            raise Unavailable(f"MongoDB's store unavailable: {str(exc)[-300:]}") from exc
        raise


def translating(function: F) -> F:
    """Decorate a function (or generator) that uses the store: see ``translated``."""
    if inspect.isgeneratorfunction(function):

        @functools.wraps(function)
        def generator(*args: Any, **kwargs: Any) -> Any:
            with translated():
                yield from function(*args, **kwargs)

        return generator  # type: ignore[return-value]

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        with translated():
            return function(*args, **kwargs)

    return call  # type: ignore[return-value]


@per_process
def client() -> pymongo.MongoClient:
    return pymongo.MongoClient(
        get_settings().mongo_uri,
        serverSelectionTimeoutMS=5000,
        tz_aware=True,
        appname="oms",
    )


def db() -> Database:
    return client()[get_settings().mongo_db]


@translating
def ping() -> None:
    client().admin.command("ping")


def is_ferretdb(database: Database) -> bool:
    return "ferretdbVersion" in database.client.admin.command("buildInfo")


@translating
def ensure_indexes(database: Database | None = None, *, local_store_in_child: bool = False) -> None:
    """Indexes the pipeline and the API rely on; idempotent, run at start-up (and by each
    test database). On FerretDB, also the local store's indexes and version trigger;
    ``local_store_in_child`` prepares those in a child process, so this one never loads
    psycopg and libpq (about 10 MB of RSS that the API's workers would keep for nothing:
    they prepare once and never talk to PostgreSQL again)."""
    database = db() if database is None else database
    ferretdb = is_ferretdb(database)
    existing = set(database.list_collection_names())
    for name in sorted((LOOKUPS.keys() | INDEXES.keys()) - existing):
        try:
            database.create_collection(name)
        except CollectionInvalid:
            pass  # created meanwhile by another process
        except OperationFailure as exc:
            if exc.code != NAMESPACE_EXISTS:
                raise
    for name, models in INDEXES.items():
        create_indexes(
            database[name],
            [model for model in models if not ferretdb or model.document.get("unique")],
        )
    if ferretdb and local_store_in_child:
        _prepare_local_store_in_child(database.name)
    elif ferretdb:
        from devstack import ferretdb_store

        ferretdb_store.prepare(database.name, LOOKUPS, tuple(LOOKUPS))


def _prepare_local_store_in_child(database: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "devstack.ferretdb_store", database],
        capture_output=True,
        text=True,
        timeout=PREPARE_TIMEOUT_S,
        check=False,
    )
    if done.returncode:
        raise Unavailable(
            f"preparing the local store failed: {done.stderr.strip().splitlines()[-1:]}"
        )


def create_indexes(collection: Collection, models: Sequence[IndexModel]) -> None:
    """Create ``models`` (those that exist already are left as they are)."""
    for model in models:
        # One index per command: FerretDB 1.24.2 panics (slice bounds out of range) on a
        # createIndexes of several indexes that already exist, and drops the connection.
        collection.create_indexes([model])


def _versioned(update: dict[str, Any]) -> dict[str, Any]:
    increments = {**update.get("$inc", {}), VERSION: 1}
    return {**update, "$inc": increments}


def is_write_conflict(exc: OperationFailure) -> bool:
    """MongoDB's WriteConflict, or the local store's version trigger refusing a stale
    write (FerretDB reports it as InternalError with PostgreSQL's SQLSTATE 40001)."""
    return not isinstance(exc, BulkWriteError) and _is_conflict_error(
        {"code": exc.code, "errmsg": str(exc)}
    )


@translating
def _retrying(write: Callable[[], T], upsert: bool = False) -> T:
    for attempt in range(CONFLICT_RETRIES):
        try:
            return write()
        except DuplicateKeyError:
            # Two upserts of one new document: the loser's insert fails; as an update
            # of the document now there, it succeeds.
            if not upsert or attempt:
                raise
        except OperationFailure as exc:
            if not is_write_conflict(exc) or attempt == CONFLICT_RETRIES - 1:
                raise
        time.sleep(random.uniform(0, min(0.05, 0.002 * 2**attempt)))
    raise AssertionError("unreachable")


def update_one(
    collection: Collection, query: dict[str, Any], update: dict[str, Any], *, upsert: bool = False
) -> UpdateResult:
    """``collection.update_one`` that bumps ``_v`` and retries a write conflict. A retry
    evaluates ``query`` again, so a conditional update that lost a race matches nothing."""
    return _retrying(
        lambda: collection.update_one(query, _versioned(update), upsert=upsert), upsert
    )


def update_many(
    collection: Collection, query: dict[str, Any], update: dict[str, Any]
) -> UpdateResult:
    """``collection.update_many`` that bumps ``_v`` and retries a write conflict. After a
    conflict some documents may have been changed by an earlier attempt: the query must
    be conditional (a retry matches only what is still to change), and the result counts
    the last attempt only."""
    return _retrying(lambda: collection.update_many(query, _versioned(update)))


def find_one_and_update(
    collection: Collection, query: dict[str, Any], update: dict[str, Any], **options: Any
) -> dict[str, Any] | None:
    """``collection.find_one_and_update`` that bumps ``_v`` and retries a write conflict."""
    return _retrying(
        lambda: collection.find_one_and_update(query, _versioned(update), **options),
        options.get("upsert", False),
    )


@translating
def bulk_update(
    collection: Collection, updates: Sequence[tuple[dict[str, Any], dict[str, Any]]]
) -> int:
    """Apply (query, update) pairs unordered, in commands of at most MAX_BULK_OPERATIONS
    (FerretDB defect above), each bumping ``_v``; returns how many documents changed.

    Updates refused for a write conflict are sent again: the queries must be conditional
    (on a status, say), so a repeat never applies a change twice.
    """
    pending = [pymongo.UpdateOne(query, _versioned(update)) for query, update in updates]
    modified = 0
    for attempt in range(CONFLICT_RETRIES):
        conflicts: list[pymongo.UpdateOne] = []
        for start in range(0, len(pending), MAX_BULK_OPERATIONS):
            batch = pending[start : start + MAX_BULK_OPERATIONS]
            try:
                modified += collection.bulk_write(batch, ordered=False).modified_count
            except BulkWriteError as exc:
                details = exc.details
                refused = details.get("writeErrors", [])
                if details.get("writeConcernErrors") or not all(
                    _is_conflict_error(e) for e in refused
                ):
                    raise
                modified += details.get("nModified", 0)
                conflicts.extend(batch[e["index"]] for e in refused)
        if not conflicts:
            return modified
        pending = conflicts
        time.sleep(random.uniform(0, min(0.05, 0.002 * 2**attempt)))
    raise OperationFailure(f"{len(pending)} updates kept conflicting", code=WRITE_CONFLICT)


def _is_conflict_error(error: dict[str, Any]) -> bool:
    return error.get("code") == WRITE_CONFLICT or (
        error.get("code") == 1 and "SQLSTATE 40001" in error.get("errmsg", "")
    )
