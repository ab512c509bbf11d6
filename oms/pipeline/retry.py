"""An operator's retry of a failed upload: only what failed runs again."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from oms.errors import NotFound, OMSError
from oms.stores import mongo, s3
from oms.uploads import repository as repo
from oms.uploads.status import UploadStatus


class NotRetryable(OMSError):
    """The upload is not in a state that a retry can change."""


class RetryAction(StrEnum):
    SPLIT = "split"  # run the split again (it failed before recording chunks)
    CHUNKS = "chunks"  # run these chunks, then finalize


@dataclass(frozen=True)
class RetryPlan:
    action: RetryAction
    chunk_indexes: tuple[int, ...] = ()


def plan_retry(upload_id: str) -> RetryPlan:
    """Move a failed upload back to work and say what must run.

    Chunks that failed are reset to pending; chunks done keep their orders, counts and
    invalid rows, and finalize_upload joins everything again, so the end state equals a
    run that never failed. An upload that failed before it was split is split again.
    """
    upload = repo.get_upload(upload_id)
    if upload["status"] != UploadStatus.FAILED:
        raise NotRetryable(
            f"upload {upload_id} is {upload['status']}; only a failed upload can be retried"
        )
    _require_source(upload)
    if not upload.get("chunks_total"):
        if repo.transition(upload_id, UploadStatus.QUEUED, error=None) is None:
            raise NotRetryable(f"upload {upload_id} changed status; try again")
        return RetryPlan(RetryAction.SPLIT)
    if (
        repo.transition(upload_id, UploadStatus.PROCESSING, error=None, retried_at=repo.now())
        is None
    ):
        raise NotRetryable(f"upload {upload_id} changed status; try again")
    failed = repo.reset_failed_chunks(upload_id)
    mongo.update_one(repo.uploads(), {"_id": upload_id}, {"$inc": {"retries": 1}})
    return RetryPlan(RetryAction.CHUNKS, tuple(failed))


def _require_source(upload: dict) -> None:
    """A retry reads the uploaded file again: refuse it, saying so, when the file store
    lost it (S3's state lost), rather than start chunks that can only fail."""
    try:
        s3.size(upload["s3_key"])
    except NotFound as exc:
        raise NotRetryable(
            f"upload {upload['_id']} cannot be retried: {exc}; upload the file again "
            "(orders already stored from it are reported as duplicates, the others are "
            "stored)"
        ) from exc
