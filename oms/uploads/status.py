"""Upload and chunk statuses and the transitions allowed between them."""

from __future__ import annotations

from enum import StrEnum


class UploadStatus(StrEnum):
    QUEUED = "queued"
    SPLITTING = "splitting"
    PROCESSING = "processing"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # an operator stopped it: what was stored stays, counted


class ChunkStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"  # its upload was cancelled before the chunk ran


U = UploadStatus

# status -> statuses it may move to. A re-run of a task may find its own earlier
# transition done (splitting -> splitting is how a crashed split resumes).
UPLOAD_TRANSITIONS: dict[UploadStatus, frozenset[UploadStatus]] = {
    U.QUEUED: frozenset({U.SPLITTING, U.REJECTED, U.FAILED, U.CANCELLED}),
    U.SPLITTING: frozenset({U.SPLITTING, U.PROCESSING, U.COMPLETED, U.REJECTED, U.FAILED}),
    U.PROCESSING: frozenset({U.FINALIZING, U.FAILED}),  # failed: the reaper gave up
    # cancelled: the finalization of an upload whose cancel was asked for
    U.FINALIZING: frozenset({U.FINALIZING, U.COMPLETED, U.FAILED, U.CANCELLED}),
    U.COMPLETED: frozenset(),
    U.FAILED: frozenset({U.PROCESSING, U.QUEUED, U.CANCELLED}),  # a retry, or given up
    U.REJECTED: frozenset(),
    U.CANCELLED: frozenset(),
}

TERMINAL = frozenset({U.COMPLETED, U.FAILED, U.REJECTED, U.CANCELLED})

C = ChunkStatus

# A chunk is done once; a failed one goes back to pending when an operator retries, and
# a redelivered copy still running when its chunk was marked failed (or cancelled) may
# finish it: what it stored is then counted.
CHUNK_TRANSITIONS: dict[ChunkStatus, frozenset[ChunkStatus]] = {
    C.PENDING: frozenset({C.DONE, C.FAILED, C.CANCELLED}),
    C.FAILED: frozenset({C.PENDING, C.DONE, C.FAILED, C.CANCELLED}),
    C.DONE: frozenset(),
    C.CANCELLED: frozenset({C.DONE}),
}


def sources_of(target: UploadStatus) -> list[str]:
    """Statuses from which ``target`` may be reached (for conditional updates)."""
    return [str(s) for s, targets in UPLOAD_TRANSITIONS.items() if target in targets]


def chunk_sources_of(target: ChunkStatus) -> list[str]:
    return [str(s) for s, targets in CHUNK_TRANSITIONS.items() if target in targets]
