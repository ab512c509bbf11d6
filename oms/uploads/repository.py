"""Reading and changing upload and chunk documents.

Every status change is an update conditioned on the current status, with a history
entry, so two processes racing over one upload cannot both win; every write goes through
``oms.stores.mongo`` (versioned, so this holds on FerretDB too).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from oms import stats_counters
from oms.errors import NotFound
from oms.stores import mongo
from oms.uploads import sequence
from oms.uploads.status import ChunkStatus, UploadStatus, chunk_sources_of, sources_of
from oms.webhooks import owed


def now() -> datetime:
    return datetime.now(UTC)


def uploads() -> Collection[dict[str, Any]]:
    return mongo.db()["uploads"]


def chunks() -> Collection[dict[str, Any]]:
    return mongo.db()["chunks"]


EMPTY_COUNTS = {"rows": 0, "valid": 0, "invalid": 0, "duplicate": 0}
EMPTY_INVALID_BY: dict[str, dict[str, int]] = {"field": {}, "rule": {}}


@mongo.translating
def create_upload(
    upload_id: str,
    *,
    filename: str,
    key: str,
    size: int,
    sha256: str,
    chunk_rows: int,
    status: UploadStatus = UploadStatus.QUEUED,
    error: str | None = None,
    mapping: dict[str, str] | None = None,
    mapping_name: str | None = None,
    check_only: bool = False,
    committed_from: str | None = None,
) -> dict:
    stamp = now()
    doc: dict[str, Any] = {
        "_id": upload_id,
        "_v": 0,
        "filename": filename,
        "s3_key": key,
        "size": size,
        "sha256": sha256,
        "status": str(status),
        "status_history": [{"status": str(status), "at": stamp}],
        "chunk_rows": chunk_rows,
        "mapping": mapping,  # file column -> OMS column, how the header is read
        "mapping_name": mapping_name,
        # Check only: validated like any upload, but no order stored, no event, no stock
        # (oms/orders/checks.py); committed later as a new upload of the same file.
        "check_only": check_only,
        "committed_from": committed_from,
        "committed_as": None,
        "chunks_total": 0,
        "counts": dict(EMPTY_COUNTS),
        "order_counts": {"total": 0, "by_status": {}, "by_hub": {}},
        "counted_chunks": [],  # chunks done, each counted once (see add_chunk_counts)
        "failed_chunks": [],
        "invalid_file_key": None,
        "error": error,
        "created_at": stamp,
        "updated_at": stamp,
        "timings": {},
    }

    def insert(seq: int) -> None:
        uploads().insert_one({**doc, "seq": seq, "block": sequence.block_of(seq)})

    seq = sequence.insert_numbered(insert)
    stats_counters.add({f"uploads.{status}": 1})
    return {**doc, "seq": seq, "block": sequence.block_of(seq)}


@mongo.translating
def mark_enqueue_failed(upload_id: str) -> None:
    """The upload is stored but its split could not be queued: the reaper sends it."""
    mongo.update_one(uploads(), {"_id": upload_id}, {"$set": {"enqueue_failed": True}})


@mongo.translating
def get_upload(upload_id: str) -> dict:
    doc = uploads().find_one({"_id": upload_id})
    if doc is None:
        raise NotFound(f"upload {upload_id} does not exist")
    return doc


@mongo.translating
def transition(upload_id: str, target: UploadStatus, **fields: Any) -> dict | None:
    """Move the upload to ``target`` if its status allows; returns the document as it was
    before, or None when the current status does not allow it (someone else moved it)."""
    stamp = now()
    update: dict[str, Any] = {
        "$set": {"status": str(target), "updated_at": stamp, **fields},
        "$push": {"status_history": {"status": str(target), "at": stamp}},
    }
    owed.add_to(update, str(target), stamp)  # a webhook event, in the same update
    # The _id equality is what FerretDB pushes down; $in is then checked on that one
    # document.
    before = mongo.find_one_and_update(
        uploads(),
        {"_id": upload_id, "status": {"$in": sources_of(target)}},
        update,
        return_document=ReturnDocument.BEFORE,
    )
    if before is not None and before["status"] != target:
        stats_counters.add({f"uploads.{before['status']}": -1, f"uploads.{target}": 1})
    if before is not None:
        owed.notify(upload_id, str(target))  # never raises: the sweep covers a failure
    return before


@mongo.translating
def save_chunks(upload_id: str, spans: Iterable[Any]) -> tuple[int, int]:
    """Record the chunks of an upload. Idempotent: chunk boundaries are a pure function of
    the file, so a re-run of the split inserts the same documents and the unique
    (upload_id, index) index turns the repeats into ignored duplicates, leaving the status
    of chunks already processed untouched. Returns (chunks, records in the file)."""
    batch: list[dict] = []
    total = records = 0
    for span in spans:
        total += 1
        records += span.rows
        batch.append(
            {
                "_id": chunk_key(upload_id, span.index),
                "_v": 0,
                "upload_id": upload_id,
                "index": span.index,
                "start": span.start,
                "end": span.end,
                "first_line": span.first_line,
                "rows": span.rows,
                "status": str(ChunkStatus.PENDING),
                "attempts": 0,
                "counts": dict(EMPTY_COUNTS),
                "error": None,
                "created_at": now(),
            }
        )
        if len(batch) >= 500:
            _insert_new(batch)
            batch = []
    _insert_new(batch)
    return total, records


def _insert_new(documents: list[dict]) -> None:
    if not documents:
        return
    try:
        chunks().insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
            raise


def chunk_key(upload_id: str, index: int) -> str:
    return f"{upload_id}:{index}"


@mongo.translating
def get_chunk(upload_id: str, index: int) -> dict:
    doc = chunks().find_one({"_id": chunk_key(upload_id, index)})
    if doc is None:
        raise NotFound(f"chunk {index} of upload {upload_id} does not exist")
    return doc


@mongo.translating
def list_chunks(upload_id: str) -> list[dict]:
    return list(chunks().find({"upload_id": upload_id}).sort("index", 1))


@mongo.translating
def start_chunk_attempt(upload_id: str, index: int) -> int:
    """Count an attempt at the chunk; returns the attempt's number (1 = first ever)."""
    doc = mongo.find_one_and_update(
        chunks(),
        {"_id": chunk_key(upload_id, index)},
        {"$inc": {"attempts": 1}, "$set": {"started_at": now()}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        raise NotFound(f"chunk {index} of upload {upload_id} does not exist")
    return doc["attempts"]


@mongo.translating
def finish_chunk(
    upload_id: str,
    index: int,
    counts: dict,
    by_hub: dict[str, int],
    invalid_by: dict[str, dict[str, int]],
    part_key: str | None,
    seconds: float,
    stages: dict[str, float],
) -> bool:
    """Mark the chunk done with its counts, its time and its time per stage; False if it
    was already done (a re-run)."""
    result = mongo.update_one(
        chunks(),
        {"_id": chunk_key(upload_id, index), "status": {"$in": chunk_sources_of(ChunkStatus.DONE)}},
        {
            "$set": {
                "status": str(ChunkStatus.DONE),
                "counts": counts,
                "by_hub": by_hub,
                "invalid_by": {
                    kind: {_field_safe(name): n for name, n in counted.items()}
                    for kind, counted in invalid_by.items()
                },
                "part_key": part_key,
                "error": None,
                "seconds": round(seconds, 3),
                "stages": stages,
                "finished_at": now(),
            }
        },
    )
    return result.modified_count == 1


@mongo.translating
def fail_chunk(upload_id: str, index: int, error: str) -> None:
    result = mongo.update_one(
        chunks(),
        {
            "_id": chunk_key(upload_id, index),
            "status": {"$in": chunk_sources_of(ChunkStatus.FAILED)},
        },
        {"$set": {"status": str(ChunkStatus.FAILED), "error": error, "finished_at": now()}},
    )
    if result.modified_count:
        mongo.update_one(uploads(), {"_id": upload_id}, {"$addToSet": {"failed_chunks": index}})


@mongo.translating
def cancel_chunk(upload_id: str, index: int) -> None:
    """Mark a chunk that has not run cancelled (its upload's cancel was asked for); a
    chunk done meanwhile, or cancelled already, stays as it is."""
    mongo.update_one(
        chunks(),
        {
            "_id": chunk_key(upload_id, index),
            "status": {"$in": chunk_sources_of(ChunkStatus.CANCELLED)},
        },
        {"$set": {"status": str(ChunkStatus.CANCELLED), "finished_at": now()}},
    )
    mongo.update_one(uploads(), {"_id": upload_id}, {"$addToSet": {"cancelled_chunks": index}})


@mongo.translating
def request_cancel(upload_id: str, statuses: Iterable[UploadStatus]) -> bool:
    """Record that the upload is to stop, if it is in one of ``statuses``; False if not
    (it moved on). Chunks not yet sent are then never sent (oms.pipeline.schedule)."""
    result = mongo.update_one(
        uploads(),
        # The _id equality is what FerretDB pushes down; the rest is checked on that one
        # document.
        {"_id": upload_id, "status": {"$in": [str(s) for s in statuses]}},
        {"$set": {"cancel_requested": True, "cancel_requested_at": now(), "updated_at": now()}},
    )
    return result.modified_count == 1


@mongo.translating
def reset_failed_chunks(upload_id: str) -> list[int]:
    """Failed chunks back to pending (one update per chunk: few, and keyed by _id)."""
    failed = [c["index"] for c in list_chunks(upload_id) if c["status"] != ChunkStatus.DONE]
    for index in failed:
        mongo.update_one(
            chunks(),
            {
                "_id": chunk_key(upload_id, index),
                "status": {"$in": chunk_sources_of(ChunkStatus.PENDING)},
            },
            {"$set": {"status": str(ChunkStatus.PENDING), "error": None}},
        )
    mongo.update_one(uploads(), {"_id": upload_id}, {"$set": {"failed_chunks": []}})
    return failed


@mongo.translating
def add_chunk_counts(
    upload_id: str,
    index: int,
    counts: dict,
    by_hub: dict[str, int],
    invalid_by: dict[str, dict[str, int]],
    *,
    stored: bool = True,
) -> None:
    """Add a finished chunk's counts to its upload, once per chunk even if called again:
    rows by outcome, orders by hub, invalid rows by field and by rule. A check-only
    upload's chunk (``stored`` False) stored no order: no order counts, nothing in /stats.

    The chunk index is pushed to ``counted_chunks`` in the same single-document update
    that increments, so the increment and its record cannot be separated by a crash.
    """
    inc: dict[str, int] = {f"counts.{name}": value for name, value in counts.items() if value}
    valid = counts.get("valid", 0) if stored else 0
    if valid:
        inc["order_counts.total"] = valid
        inc["order_counts.by_status.on_hold"] = valid
    for hub, count in by_hub.items():
        inc[f"order_counts.by_hub.{_field_safe(hub)}"] = count
    upload_only = {  # not in /stats
        f"invalid_by.{kind}.{_field_safe(name)}": n
        for kind, counted in invalid_by.items()
        for name, n in counted.items()
        if n
    }
    update: dict[str, Any] = {"$push": {"counted_chunks": index}, "$set": {"updated_at": now()}}
    if inc or upload_only:
        update["$inc"] = {**inc, **upload_only}
    counted = mongo.update_one(
        uploads(), {"_id": upload_id, "counted_chunks": {"$ne": index}}, update
    )
    if counted.modified_count and stored:  # this call counted it: add it to /stats as well
        stats_counters.add({_stats_name(key): value for key, value in inc.items()})


@mongo.translating
def claim_commit(check_id: str, upload_id: str) -> bool:
    """Record that the check ``check_id`` is committed as ``upload_id``; False if it was
    committed already (of two racing commits, one wins)."""
    result = mongo.update_one(
        uploads(),
        {"_id": check_id, "check_only": True, "committed_as": None},
        {"$set": {"committed_as": upload_id, "updated_at": now()}},
    )
    return result.modified_count == 1


@mongo.translating
def completed_upload_with(sha256: str) -> dict[str, Any] | None:
    """A completed upload (not a check) whose file had this sha256; the equalities are
    index-served, the check flag is filtered among their few matches."""
    query = {"sha256": sha256, "status": str(UploadStatus.COMPLETED), "check_only": {"$ne": True}}
    return uploads().find_one(query)


def invalid_by(upload: dict) -> dict[str, dict[str, int]]:
    """The upload's invalid rows by field and by rule (of the chunks counted so far)."""
    stored = upload.get("invalid_by") or {}
    return {
        kind: {stats_counters.unsafe(name): int(n) for name, n in (stored.get(kind) or {}).items()}
        for kind in EMPTY_INVALID_BY
    }


def _stats_name(field: str) -> str:
    """The /stats counter of an upload's counter field."""
    for prefix, name in (("order_counts.", "orders."), ("counts.", "rows.")):
        if field.startswith(prefix):
            return name + field.removeprefix(prefix)
    raise ValueError(field)


def _field_safe(name: str) -> str:
    """MongoDB field names may not contain '.' or start with '$'."""
    return stats_counters.safe(name)
