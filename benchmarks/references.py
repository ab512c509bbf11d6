"""The three references `make bench` measures OMS against, on the same rows (issue 12).

(a) ``parse_validate``: the project's reader and schema over the file's chunks, in
    ``processes`` processes, no I/O but reading the file (from the page cache).
(b) ``bulk_load``: ``insert_many`` of the already-built order documents into a scratch
    collection prepared like ``orders`` (same indexes, same version trigger), one writer
    per process, all starting together; only the inserts are timed.
(c) ``naive``: per row one IMS HTTP call, one ``insert_one``, one Kafka produce + flush,
    the shape other implementations of this service use; ``rows`` rows split over
    ``processes`` processes.

Each returns ``{"rows": n, "seconds": s, "rows_per_s": r}``. Processes are spawned, not
forked, so each opens its own clients.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oms.config import get_settings
from oms.ingest.chunking import ChunkSpan, split_into_chunks
from oms.ingest.header import HEAD_BYTES, Header, read_header
from oms.ingest.rows import Limits, read_records
from oms.ingest.schema import OrderRow, validate_records

SCRATCH = "orders_bench_reference"
_spawn = multiprocessing.get_context("spawn")


def spans(path: Path, chunk_rows: int) -> tuple[Header, list[ChunkSpan]]:
    """The file's header and its chunks, as OMS's splitter cuts them."""
    with path.open("rb") as handle:
        header = read_header(handle.read(HEAD_BYTES))
        handle.seek(header.data_offset)
        blocks = iter(lambda: handle.read(1 << 20), b"")
        return header, list(
            split_into_chunks(blocks, header.data_offset, chunk_rows, header.data_line)
        )


def _rows_of(path: Path, header: Header, span: ChunkSpan) -> tuple[list[OrderRow], int]:
    with path.open("rb") as handle:
        handle.seek(span.start)
        data = handle.read(span.end - span.start)
    settings = get_settings()
    limits = Limits(settings.max_field_chars, settings.max_row_chars)
    records = list(read_records(data, header, span.first_line, limits))
    valid, invalid = validate_records(records)
    return valid, len(valid) + len(invalid)


def _share(items: list, processes: int, me: int) -> list:
    return items[me::processes]


def _result(rows: int, began: float, ended: float) -> dict[str, float]:
    seconds = ended - began
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}


# --- (a) parse + validate ---------------------------------------------------------------


def _parse_worker(path: Path, chunk_rows: int, processes: int, me: int, start, out) -> None:
    header, all_spans = spans(path, chunk_rows)
    mine = _share(all_spans, processes, me)
    start.wait()
    began = time.time()
    rows = sum(_rows_of(path, header, span)[1] for span in mine)
    out.put((began, time.time(), rows))


def parse_validate(
    path: Path, chunk_rows: int, processes: int, env: dict[str, str] | None = None
) -> dict[str, float]:
    return _together(_parse_worker, (path, chunk_rows, processes), processes, env)


# --- (b) raw bulk load ------------------------------------------------------------------


def _documents(
    path: Path, header: Header, mine: list[ChunkSpan], chunk_rows: int, upload_id: str
) -> list[list[dict]]:
    """The order documents OMS would store for these chunks, one list per chunk."""
    from oms.orders.store import order_document

    created = datetime.now(UTC)
    batches = []
    for span in mine:
        valid, _ = _rows_of(path, header, span)
        first = span.index * chunk_rows
        batches.append(
            [
                order_document(row, upload_id, first + position, created)
                for position, row in enumerate(valid)
            ]
        )
    return batches


def _load_worker(path: Path, chunk_rows: int, processes: int, me: int, start, out) -> None:
    from oms.orders.store import insert_unordered
    from oms.stores import mongo

    header, all_spans = spans(path, chunk_rows)
    mine = _share(all_spans, processes, me)
    batches = _documents(path, header, mine, chunk_rows, f"ref-{me}")
    scratch = mongo.db()[SCRATCH]
    start.wait()
    began = time.time()
    refused = 0  # order_ids repeated across chunks (rows OMS reports as duplicates)
    for batch in batches:
        refused += len(insert_unordered(scratch, batch))
    out.put((began, time.time(), sum(len(b) for b in batches) - refused))


def prepare_scratch() -> None:
    """An empty scratch collection with the orders collection's indexes and trigger."""
    from oms.stores import mongo

    database = mongo.db()
    database.drop_collection(SCRATCH)
    database.create_collection(SCRATCH)
    ferretdb = mongo.is_ferretdb(database)
    mongo.create_indexes(
        database[SCRATCH],
        [m for m in mongo.INDEXES["orders"] if not ferretdb or m.document.get("unique")],
    )
    if ferretdb:
        from devstack import ferretdb_store

        ferretdb_store.prepare(database.name, {SCRATCH: mongo.LOOKUPS["orders"]}, (SCRATCH,))


def drop_scratch() -> None:
    from oms.stores import mongo

    mongo.db().drop_collection(SCRATCH)


def bulk_load(
    path: Path, chunk_rows: int, processes: int, env: dict[str, str] | None = None
) -> dict[str, float]:
    prepare_scratch()
    try:
        return _together(_load_worker, (path, chunk_rows, processes), processes, env)
    finally:
        drop_scratch()


# --- (c) naive per-row pipeline ---------------------------------------------------------


def _naive_worker(path: Path, chunk_rows: int, processes: int, me: int, start, out, rows: int):
    import requests
    from pymongo.errors import DuplicateKeyError

    from oms.stores import kafka, mongo

    header, all_spans = spans(path, chunk_rows)
    valid: list[OrderRow] = []
    for span in all_spans:
        valid.extend(_rows_of(path, header, span)[0])
        if len(valid) >= rows:
            break
    mine = _share(valid[:rows], processes, me)
    scratch = mongo.db()[SCRATCH]
    producer = kafka.producer()
    settings = get_settings()
    topic = settings.topic("bench.naive")
    session = requests.Session()
    session.headers["X-Service-Key"] = settings.ims_service_key
    from oms.orders.store import order_document

    created = datetime.now(UTC)
    start.wait()
    began = time.time()
    for position, row in enumerate(mine):
        answer = session.post(
            f"{settings.ims_url}/v1/validate",
            json={"items": [{"sku": row.sku, "hub_id": row.hub_id}]},
            timeout=30,
        )
        answer.raise_for_status()
        document = order_document(row, f"naive-{me}", position, created)
        try:
            scratch.insert_one(document)
        except DuplicateKeyError:
            pass  # an order_id repeated in the file: OMS reports such a row as invalid
        producer.produce(topic, key=row.order_id, value=json.dumps({"order_id": row.order_id}))
        producer.flush(30)
    out.put((began, time.time(), len(mine)))


def naive(
    path: Path, chunk_rows: int, processes: int, rows: int, env: dict[str, str] | None = None
) -> dict[str, float]:
    prepare_scratch()
    try:
        return _together(_naive_worker, (path, chunk_rows, processes), processes, env, rows)
    finally:
        drop_scratch()


# ---------------------------------------------------------------------------------------


def _child(target: Any, env: dict[str, str], *args: Any) -> None:
    os.environ.update(env)  # before the first get_settings() of this fresh process
    target(*args)


def _together(
    target: Any, args: tuple, processes: int, env: dict[str, str] | None, *more: Any
) -> dict[str, float]:
    """Run ``target`` in ``processes`` spawned processes (with ``env`` added to their
    environment: OMS settings) released at once; the wall time from the first start to
    the last end."""
    start = _spawn.Barrier(processes)
    out = _spawn.Queue()
    children = [
        _spawn.Process(target=_child, args=(target, env or {}, *args, me, start, out, *more))
        for me in range(processes)
    ]
    for child in children:
        child.start()
    results = [out.get(timeout=3600) for _ in children]
    for child in children:
        child.join(timeout=60)
        if child.exitcode != 0:
            raise RuntimeError(f"a reference process ended with {child.exitcode}")
    began = min(r[0] for r in results)
    ended = max(r[1] for r in results)
    return _result(sum(r[2] for r in results), began, ended)
