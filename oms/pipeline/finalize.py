"""finalize_upload: join the chunks' invalid parts into one file and close the upload.

It reads persisted chunk state only (never chord results), so it can run again after an
operator's retry of failed chunks and gives the same file and counts.
"""

from __future__ import annotations

import logging

from oms import crash_points
from oms.ingest.invalid_file import invalid_header
from oms.orders import checks
from oms.stores import s3
from oms.uploads import keys
from oms.uploads import repository as repo
from oms.uploads.status import ChunkStatus, UploadStatus

log = logging.getLogger(__name__)


def finalize_upload(upload_id: str) -> dict:
    upload = repo.get_upload(upload_id)
    if upload["status"] not in (UploadStatus.PROCESSING, UploadStatus.FINALIZING):
        log.info("upload %s is %s: nothing to finalize", upload_id, upload["status"])
        return {"status": upload["status"]}
    if repo.transition(upload_id, UploadStatus.FINALIZING) is None:
        return _lost(upload_id, UploadStatus.FINALIZING)
    chunk_docs = repo.list_chunks(upload_id)
    cancelled = upload.get("cancel_requested", False)
    if cancelled:  # the chunks that never ran say so (some were never sent at all)
        pending = [c["index"] for c in chunk_docs if c["status"] == ChunkStatus.PENDING]
        for index in pending:
            repo.cancel_chunk(upload_id, index)
        if pending:
            # Read them again: a second finalization (a redelivered body) may have
            # cancelled some of them first, and this one's cancel_chunk then changed
            # nothing; left at pending here, they would be listed as failed.
            chunk_docs = repo.list_chunks(upload_id)
    failed = [c for c in chunk_docs if c["status"] != ChunkStatus.DONE]
    counts = {
        name: sum(c["counts"][name] for c in chunk_docs if c["status"] == ChunkStatus.DONE)
        for name in repo.EMPTY_COUNTS
    }
    parts = [
        c["part_key"] for c in chunk_docs if c["status"] == ChunkStatus.DONE and c.get("part_key")
    ]
    invalid_key = None
    if parts:
        invalid_key = keys.invalid_key(upload_id)
        join_parts(invalid_key, invalid_header(upload["columns"]), parts)
    crash_points.reached("finalize.after_join")
    fields = {
        "counts": counts,
        "invalid_file_key": invalid_key,
        "invalid_file": keys.invalid_file_name(upload_id) if invalid_key else None,
        "timings.finished_at": repo.now(),
        "failed_chunks": [c["index"] for c in failed if c["status"] != ChunkStatus.CANCELLED],
        "counted_chunks": [c["index"] for c in chunk_docs if c["status"] == ChunkStatus.DONE],
        "error": None,
    }
    if cancelled:
        fields["cancelled_chunks"] = [
            c["index"] for c in chunk_docs if c["status"] == ChunkStatus.CANCELLED
        ]
        target = UploadStatus.CANCELLED
        failed = []  # a cancelled upload is not retried: its failed chunks stay listed
    else:
        target = UploadStatus.FAILED if failed else UploadStatus.COMPLETED
    if failed:
        first = failed[0]
        fields["error"] = (
            f"{len(failed)} of {len(chunk_docs)} chunks failed; chunk "
            f"{first['index']}: {(first.get('error') or 'not processed')[:300]}"
        )
    if repo.transition(upload_id, target, **fields) is None:
        return _lost(upload_id, target)
    if upload.get("check_only") and target in (UploadStatus.COMPLETED, UploadStatus.CANCELLED):
        checks.forget(upload_id)  # its order_id claims: no chunk of it runs again
    return {"status": str(target), **counts}


def _lost(upload_id: str, target: UploadStatus) -> dict:
    """Another finalize_upload (a redelivered chord body) moved the upload first."""
    current = repo.get_upload(upload_id)["status"]
    log.warning(
        "upload %s: moving to %s lost a race (it is %s)",
        upload_id,
        target,
        current,
        extra={"upload_id": upload_id},
    )
    return {"status": current}


def join_parts(key: str, header: bytes, part_keys: list[str]) -> None:
    """Concatenate header + parts (in the given order) into ``key``, holding at most one
    S3 part plus one chunk's part file in memory."""
    with s3.MultipartWriter(key) as writer:
        writer.write(header)
        for part_key in part_keys:
            writer.write(s3.read(part_key))
