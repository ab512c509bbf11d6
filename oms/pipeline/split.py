"""ingest_upload: read the header, reject a file that cannot be ingested, find the chunks
(and start the first one of a large file as soon as it is found)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from oms import crash_points, dispatch
from oms.config import get_settings
from oms.ingest.chunking import ChunkSpan, count_line_breaks, split_into_chunks
from oms.ingest.header import HEAD_BYTES, Header, HeaderError, read_header
from oms.stores import mongo, s3
from oms.uploads import repository as repo
from oms.uploads.status import UploadStatus

log = logging.getLogger(__name__)


class SplitAction(StrEnum):
    START_CHUNKS = "start"  # start the upload's chunks (oms.pipeline.schedule)
    DONE = "done"  # nothing to process: the upload is complete (a header-only file)
    SKIP = "skip"  # nothing to do here: rejected, or already split by someone else


@dataclass(frozen=True)
class SplitResult:
    action: SplitAction
    chunk_indexes: tuple[int, ...] = ()


SKIP = SplitResult(SplitAction.SKIP)


def read_upload_header(upload: dict) -> Header:
    """The header of an upload's stored file, read with the upload's column mapping."""
    return read_header(
        s3.get_range(upload["s3_key"], 0, HEAD_BYTES),
        max_columns=get_settings().max_columns,
        mapping=upload.get("mapping"),
    )


def split_upload(upload_id: str) -> SplitResult:
    """Split an upload into chunk documents. Safe to run again after a crash."""
    upload = repo.get_upload(upload_id)
    status = UploadStatus(upload["status"])
    if status == UploadStatus.PROCESSING and not upload.get("chunks_started"):
        # Crashed after recording the chunks but before starting their tasks.
        return SplitResult(SplitAction.START_CHUNKS, ())
    if status not in (UploadStatus.QUEUED, UploadStatus.SPLITTING):
        log.info("upload %s is %s: nothing to split", upload_id, status)
        return SKIP
    if (
        repo.transition(
            upload_id, UploadStatus.SPLITTING, **{"timings.split_started_at": repo.now()}
        )
        is None
    ):
        return _lost(upload_id, UploadStatus.SPLITTING)

    try:
        header = read_upload_header(upload)
    except HeaderError as exc:
        _reject(upload_id, exc.message, exc.code)
        return SKIP
    if header.missing:
        _reject(upload_id, header.missing_message(), "missing_columns")
        return SKIP

    head = s3.get_range(upload["s3_key"], 0, HEAD_BYTES)
    rows_per_chunk = chunk_rows_for(
        upload.get("chunk_rows") or get_settings().chunk_rows,
        upload["size"],
        head,
        header.data_offset,
    )
    blocks = s3.iter_blocks(upload["s3_key"], start=header.data_offset)
    spans = split_into_chunks(blocks, header.data_offset, rows_per_chunk, header.data_line)
    first = next(spans, None)
    total, records = repo.save_chunks(upload_id, [first] if first else [])
    sent_first = bool(upload.get("first_chunk_sent"))
    if first is not None and not sent_first and _starts_early(upload, first, rows_per_chunk):
        send_first_chunk(upload_id, rows_per_chunk)
        sent_first = True
    more, more_records = repo.save_chunks(upload_id, spans)
    total, records = total + more, records + more_records
    crash_points.reached("split.after_save")
    fields = {
        "chunks_total": total,
        "chunk_rows": rows_per_chunk,
        "rows_total": records,
        "columns": list(header.columns),
        "extra_columns": list(header.extra),
        "timings.split_done_at": repo.now(),
    }
    if total == 0:
        if (
            repo.transition(
                upload_id, UploadStatus.COMPLETED, **fields, **{"timings.finished_at": repo.now()}
            )
            is None
        ):
            return _lost(upload_id, UploadStatus.COMPLETED)
        return SplitResult(SplitAction.DONE)
    if (
        repo.transition(
            upload_id,
            UploadStatus.PROCESSING,
            chunks_started=False,
            to_send=list(range(1 if sent_first else 0, total)),
            **fields,
        )
        is None
    ):
        return _lost(upload_id, UploadStatus.PROCESSING)
    return SplitResult(SplitAction.START_CHUNKS, tuple(range(total)))


def _starts_early(upload: dict, first: ChunkSpan, rows_per_chunk: int) -> bool:
    """Whether chunk 0 goes to work while the rest of the file is split: when the file
    goes on after a full first chunk. Splitting a 170 MB file takes about 4 s, and no
    order could be stored before it ended. Only an upload larger than the express
    threshold starts early, so chunk 0 takes the queue its later chunks will take."""
    return (
        first.rows == rows_per_chunk
        and first.end < upload["size"]
        and rows_per_chunk > get_settings().express_rows
    )


def send_first_chunk(upload_id: str, rows_per_chunk: int) -> None:
    """Send chunk 0 while the upload is still splitting (its ``chunk_rows`` first: the
    chunk reads it). The flag is set after the send, so a split that crashes between the
    two sends it again on its next run (a chunk runs at least once, and only once to
    effect); a later run sees the flag and leaves chunk 0 off ``to_send``."""
    uploads = repo.uploads()
    mongo.update_one(uploads, {"_id": upload_id}, {"$set": {"chunk_rows": rows_per_chunk}})
    dispatch.send_chunk(upload_id, 0)
    mongo.update_one(uploads, {"_id": upload_id}, {"$set": {"first_chunk_sent": True}})


def chunk_rows_for(requested: int, size: int, head: bytes, data_offset: int) -> int:
    """Rows per chunk: the request, but at least OMS_MIN_CHUNK_ROWS, and large enough that
    the file has about OMS_MAX_CHUNKS chunks at most (its records are estimated from the
    average record size of its first bytes)."""
    settings = get_settings()
    rows = max(requested, settings.min_chunk_rows)
    sample = head[data_offset:]
    records_in_sample = count_line_breaks(sample)
    if records_in_sample and size > len(head):
        estimated = size * records_in_sample // len(sample)
        rows = max(rows, -(-estimated // settings.max_chunks))
    return rows


def _reject(upload_id: str, message: str, code: str) -> None:
    if repo.transition(upload_id, UploadStatus.REJECTED, error=message, error_code=code) is None:
        _lost(upload_id, UploadStatus.REJECTED)


def _lost(upload_id: str, target: UploadStatus) -> SplitResult:
    """Another run of the split moved the upload first: it owns what comes next."""
    current = repo.get_upload(upload_id)["status"]
    log.warning(
        "upload %s: moving to %s lost a race (it is %s); leaving it to the winner",
        upload_id,
        target,
        current,
        extra={"upload_id": upload_id},
    )
    return SKIP


def mark_chunks_started(upload_id: str) -> None:
    mongo.update_one(repo.uploads(), {"_id": upload_id}, {"$set": {"chunks_started": True}})
