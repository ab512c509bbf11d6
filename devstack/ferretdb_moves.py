"""The finalizer's confirmations on the local store, written by PostgreSQL itself.

FerretDB 1.24.2 runs an ``update_many`` as: read every matching row, decode its JSONB
into a Go document, apply the update, encode it, and one ``UPDATE ... WHERE _id`` per
document. pprof of FerretDB during the finalizer's block updates put 44 % of its CPU in
``sjson.Unmarshal`` and 17 % in garbage collection; a block update cost 0.9-1.4 ms per
order (``benchmarks/store_costs.py``), and finalizing 100k orders took longer than
ingesting them. ``confirm`` makes the same change to the same rows with one ``UPDATE``
whose new value PostgreSQL computes from the old one, in FerretDB's own storage format
(``internal/handler/sjson``), so FerretDB reads the orders back exactly as if it had
written them (``tests/orders/test_block_moves.py`` compares both byte for byte).

The format, as FerretDB 1.24 stores a document: its fields as JSON, dates as milliseconds
since the epoch, and ``$s`` with the type of every field (``p``) and the key order
(``$k``); an array's schema lists each item's (``i``). The move sets ``status`` and
``updated_at``, increments ``_v`` and appends one ``status_history`` entry. Only orders
whose stored schema already has those fields with those types are changed here (every
order stored by OMS has them), so no key is added and ``$k`` stays as it is; only the
history's item list grows by the entry's schema. Any other document is left to FerretDB.

The statement is conditional (status still the source, the order among those named), so
it is atomic as every OMS update is; PostgreSQL's row lock orders it with FerretDB's own
writes, and ``_v`` + 1 satisfies the version trigger (``devstack/ferretdb_store.py``).
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bson.datetime_ms import DatetimeMS

from devstack import postgres
from devstack.ferretdb_store import METADATA_TABLE

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.rows import TupleRow

_MOVE = """
UPDATE {table} SET _jsonb = jsonb_set(
    _jsonb || jsonb_build_object(
        'status', %(target)s::text,
        'updated_at', %(at)s::bigint,
        '_v', (_jsonb->>'_v')::bigint + 1,
        'status_history', (_jsonb->'status_history') || %(entry)s::jsonb),
    '{{$s,p,status_history,i}}',
    (_jsonb #> '{{$s,p,status_history,i}}') || %(entry_schema)s::jsonb)
WHERE _jsonb->'block' @> ANY(%(blocks)s::jsonb[])
  AND _jsonb->'status' @> %(source)s::jsonb
  AND _jsonb->>'order_id' = ANY(%(order_ids)s::text[])
  AND _jsonb #>> '{{$s,p,_v,t}}' = 'int'
  AND _jsonb #>> '{{$s,p,status,t}}' = 'string'
  AND _jsonb #>> '{{$s,p,updated_at,t}}' = 'date'
  AND _jsonb #>> '{{$s,p,status_history,t}}' = 'array'
  AND jsonb_typeof(_jsonb #> '{{$s,p,status_history,i}}') = 'array'
  AND jsonb_typeof(_jsonb->'status_history') = 'array'
RETURNING _jsonb->>'order_id'
"""

_lock = threading.Lock()  # one statement at a time on the process's connection
_state: dict[str, Any] = {}


def confirm(
    database: str,
    collection: str,
    blocks: list[str],
    order_ids: list[str],
    source: str,
    target: str,
    entry: dict[str, Any],
) -> set[str]:
    """Move the orders of ``order_ids`` (in ``blocks``) that are still ``source`` to
    ``target``, appending ``entry`` (its values strings or aware datetimes; its ``at``
    becomes ``updated_at``) to their history. Returns the order_ids it moved; the rest
    were not in ``source`` or are not in the format above. Raises psycopg's
    OperationalError when PostgreSQL cannot answer."""
    if not order_ids:
        return set()
    from psycopg import errors, sql
    from psycopg.types.json import Jsonb

    with _lock:
        conn = _connection()
        try:
            table = _table(conn, database, collection)
            if table is None:
                return set()
            rows = conn.execute(
                sql.SQL(_MOVE).format(table=sql.Identifier(database, table)),
                {
                    "target": target,
                    "at": to_millis(entry["at"]),
                    "entry": Jsonb([to_sjson(entry)]),
                    "entry_schema": Jsonb([schema_of(entry)]),
                    "blocks": [Jsonb(block) for block in blocks],
                    "source": Jsonb(source),
                    "order_ids": order_ids,
                },
            ).fetchall()
        except errors.UndefinedTable:
            return set()  # dropped meanwhile: FerretDB says what became of the orders
        except errors.OperationalError:
            conn.close()
            raise
    return {row[0] for row in rows}


def to_millis(at: datetime) -> int:
    """A BSON date as FerretDB stores it: whole milliseconds since the epoch, as pymongo
    encodes the datetime it sends."""
    return int(DatetimeMS(at))


def to_sjson(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: to_millis(v) if isinstance(v, datetime) else _text(v) for key, v in entry.items()}


def schema_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The sjson schema of a flat document of strings and dates."""
    types = {
        key: {"t": "date" if isinstance(v, datetime) else "string"} for key, v in entry.items()
    }
    return {"t": "object", "$s": {"p": types, "$k": list(entry)}}


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"a history entry holds strings and dates, not {value!r}")
    return value


def _table(conn: Connection[TupleRow], database: str, collection: str) -> str | None:
    from psycopg import errors, sql

    try:
        row = conn.execute(
            sql.SQL("SELECT _jsonb->>'table' FROM {} WHERE _jsonb->>'_id' = %s").format(
                sql.Identifier(database, METADATA_TABLE)
            ),
            (collection,),
        ).fetchone()
    except errors.UndefinedTable:
        return None
    return None if row is None else row[0]


def _connection() -> Connection[TupleRow]:
    """The process's connection (call with ``_lock`` held): opened again after a
    failure closed it, and in a forked child (the parent's socket is not its own)."""
    import psycopg

    conn = _state.get("conn")
    if conn is None or conn.closed or _state.get("pid") != os.getpid():
        conn = psycopg.connect(postgres.conninfo(postgres.FERRETDB_DATABASE), autocommit=True)
        _state.update(conn=conn, pid=os.getpid())
    return conn
