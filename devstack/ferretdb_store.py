"""What FerretDB 1.24.2 on PostgreSQL needs so OMS's store is fast and correct: one place.

FerretDB keeps each collection in a PostgreSQL table ``<database>.<collection>_<hash>``
with one ``_jsonb`` column; ``<database>._ferretdb_database_metadata`` maps collection
names to tables. Two defects of FerretDB 1.24.2, both reproduced here (see
docs/architecture.md, "The local store"), are worked around on those tables:

1. **Indexes are never used for queries.** FerretDB pushes a top-level scalar equality
   down as ``_jsonb->'field' @> value`` (``internal/backends/postgresql/query.go``), but
   the indexes it creates for ``createIndexes`` are B-trees on ``((_jsonb->'field'))``,
   which ``@>`` cannot use: every query is a sequential scan (a ``find_one`` by order_id
   took 1.6 s at 1M orders). A GIN ``jsonb_path_ops`` index on the same expression
   serves ``@>``: 1.2 ms. OMS names the fields it looks up by equality
   (``oms.stores.mongo.LOOKUPS``); each gets such an index. Low-cardinality fields
   (status, hub) get none on purpose: PostgreSQL would AND their huge posting lists with
   the selective one (measured: 51 ms instead of 0.8 ms).
   The GIN indexes have no pending list (``fastupdate = off``). With one, PostgreSQL
   adds new entries to an unsorted list that every lookup reads whole until a vacuum
   or 4 MB of it moves them into the index: while a 100k-row file was ingested, the
   block lookup of the finalizer's update took 54, 67, 125, then 175 ms (EXPLAIN
   ANALYZE, bitmap index scan, no row found), and each update by order_id paid the same.
   Without it every insert puts its entry where it belongs; that lookup took 0.1 ms.
2. **Updates are not atomic.** FerretDB runs ``update``/``findAndModify`` as a read, a
   change in Go and ``UPDATE ... SET _jsonb = $1 WHERE _id = $2``, with no row lock
   between read and write (``internal/handler/msg_update.go``): 4 processes doing 800
   ``$inc`` left 320, and two conditional updates of one document both reported a
   match. Every OMS document carries a version ``_v`` that every OMS update increments
   (``oms.stores.mongo.update_one``); a trigger refuses a write whose ``_v`` is not the
   stored one plus one, so a write based on a stale read fails with SQLSTATE 40001 and
   OMS retries it (FerretDB then reads again). Compare-and-set, done by PostgreSQL.

``prepare`` is called by ``oms.stores.mongo.ensure_indexes`` after the collections exist
(creating a MongoDB index creates the collection), and only when the server is FerretDB;
on MongoDB none of this is needed (its indexes serve queries and its updates are atomic).
It is idempotent and safe to run from several processes at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from devstack import postgres

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.rows import TupleRow

log = logging.getLogger(__name__)

METADATA_TABLE = "_ferretdb_database_metadata"
CONFLICT_MESSAGE = "oms_write_conflict: document changed since it was read"
SERIALIZATION_FAILURE = "40001"

_VERSION_CHECK = f"""
CREATE OR REPLACE FUNCTION public.oms_version_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW._jsonb->'_v' IS DISTINCT FROM to_jsonb((OLD._jsonb->>'_v')::bigint + 1) THEN
    RAISE EXCEPTION '{CONFLICT_MESSAGE}' USING ERRCODE = '{SERIALIZATION_FAILURE}';
  END IF;
  RETURN NEW;
END $$
"""


def prepare(
    database: str, lookups: Mapping[str, tuple[str, ...]], versioned: tuple[str, ...]
) -> dict[str, int]:
    """For MongoDB database ``database``: a GIN index per (collection, field) of
    ``lookups`` and the version trigger on each collection of ``versioned``.

    Collections that do not exist yet are skipped (call again once they do). Returns how
    many indexes and triggers were created.
    """
    import psycopg
    from psycopg import sql

    created = {"indexes": 0, "triggers": 0, "altered": 0}
    with psycopg.connect(postgres.conninfo(postgres.FERRETDB_DATABASE), autocommit=True) as conn:
        by_collection = tables(conn, database)
        wanted = set(lookups) | set(versioned)
        with conn.transaction():
            # One preparer at a time: CREATE ... IF NOT EXISTS still races, and every
            # database shares the trigger function (CREATE OR REPLACE of one function from
            # two sessions fails with "tuple concurrently updated").
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('oms-prepare'))")
            conn.execute(_VERSION_CHECK)
            existing = _existing_indexes(conn, database)
            without_pending_list = _without_pending_list(conn, database)
            for collection in sorted(wanted & by_collection.keys()):
                table = by_collection[collection]
                for field in lookups.get(collection, ()):
                    name = _index_name(table, field)
                    stale = f"{table}_{field.strip('_')}_gin"[:63]  # before partial indexes
                    if stale in existing:
                        conn.execute(
                            sql.SQL("DROP INDEX {}").format(sql.Identifier(database, stale))
                        )
                    if name in existing:
                        if name not in without_pending_list:
                            _drop_pending_list(conn, database, name)
                            created["altered"] += 1
                        continue
                    # Partial: a document without the field costs no index entry (GIN
                    # would keep a null entry per row otherwise). PostgreSQL uses it for
                    # `f @> v`, which implies `f IS NOT NULL` (@> is strict). No pending
                    # list: see fastupdate in the module docstring.
                    conn.execute(
                        sql.SQL(
                            "CREATE INDEX IF NOT EXISTS {} ON {} "
                            "USING gin ((_jsonb -> {field}) jsonb_path_ops) "
                            "WITH (fastupdate = off) "
                            "WHERE (_jsonb -> {field}) IS NOT NULL"
                        ).format(
                            sql.Identifier(name),
                            sql.Identifier(database, table),
                            field=sql.Literal(field),
                        )
                    )
                    created["indexes"] += 1
                if collection in versioned and not _has_trigger(conn, database, table):
                    conn.execute(
                        sql.SQL(
                            "CREATE TRIGGER oms_version_check BEFORE UPDATE ON {} FOR EACH ROW "
                            "WHEN (OLD._jsonb ? '_v') EXECUTE FUNCTION public.oms_version_check()"
                        ).format(sql.Identifier(database, table))
                    )
                    created["triggers"] += 1
        if created["indexes"]:
            for collection in sorted(wanted & by_collection.keys()):
                # Statistics on the new index expressions, so the planner sees selectivity.
                conn.execute(
                    sql.SQL("ANALYZE {}").format(
                        sql.Identifier(database, by_collection[collection])
                    )
                )
    if any(created.values()):
        log.info("ferretdb store prepared for %s: %s", database, created)
    return created


def tables(conn: Connection[TupleRow], database: str) -> dict[str, str]:
    """collection name -> PostgreSQL table, from FerretDB's metadata table."""
    exists = conn.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
        (database, METADATA_TABLE),
    ).fetchone()
    if not exists:
        return {}
    from psycopg import sql

    rows = conn.execute(
        sql.SQL("SELECT _jsonb->>'_id', _jsonb->>'table' FROM {}").format(
            sql.Identifier(database, METADATA_TABLE)
        )
    ).fetchall()
    return dict(rows)


def _existing_indexes(conn: Connection[TupleRow], database: str) -> set[str]:
    rows = conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (database,)
    ).fetchall()
    return {row[0] for row in rows}


def _without_pending_list(conn: Connection[TupleRow], database: str) -> set[str]:
    """The indexes of ``database`` made with ``fastupdate = off``."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'i' AND 'fastupdate=off' = ANY(c.reloptions)",
        (database,),
    ).fetchall()
    return {row[0] for row in rows}


def _drop_pending_list(conn: Connection[TupleRow], database: str, index: str) -> None:
    """An index made before ``fastupdate = off``: set it, and move the entries waiting in
    its pending list into the index proper."""
    from psycopg import sql

    qualified = sql.Identifier(database, index)
    conn.execute(sql.SQL("ALTER INDEX {} SET (fastupdate = off)").format(qualified))
    conn.execute(
        "SELECT gin_clean_pending_list(%s::regclass)",
        (f'"{database}"."{index}"',),
    )


def _has_trigger(conn: Connection[TupleRow], database: str, table: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND t.tgname = 'oms_version_check'",
            (database, table),
        ).fetchone()
        is not None
    )


def _index_name(table: str, field: str) -> str:
    return f"{table}_{field.strip('_')}_pgin"[:63]


def main(argv: list[str]) -> int:
    """``python -m devstack.ferretdb_store DATABASE``: ``prepare`` OMS's collections of
    DATABASE (``oms.stores.mongo.ensure_indexes`` runs it so for the API)."""
    from oms.stores.mongo import LOOKUPS

    (database,) = argv
    prepare(database, LOOKUPS, tuple(LOOKUPS))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
