"""The events a webhook can be told, and the JSON body of a delivery."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from oms.config import get_settings

# upload status -> event name: each status an upload can end in.
EVENT_OF_STATUS = {
    "completed": "upload.completed",
    "failed": "upload.failed",
    "rejected": "upload.rejected",
    "cancelled": "upload.cancelled",
}
EVENTS = tuple(EVENT_OF_STATUS.values())


def event_of(status: str) -> str | None:
    """The event an upload reaching ``status`` is told as, if any."""
    return EVENT_OF_STATUS.get(status)


def _iso(stamp: datetime) -> str:
    return stamp.isoformat().replace("+00:00", "Z")


def payload(upload: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """What a delivery of ``event`` (an entry of the upload's ``webhook_events``) says."""
    base = get_settings().public_url
    upload_id = upload["_id"]
    name = upload.get("invalid_file")
    counts = upload.get("counts") or {}
    return {
        "event_id": event["id"],
        "event": event["event"],
        "occurred_at": _iso(event["at"]),
        "upload_id": upload_id,
        "status": event["event"].removeprefix("upload."),
        "filename": upload.get("filename"),
        "check_only": bool(upload.get("check_only")),
        "counts": {k: int(counts.get(k, 0)) for k in ("rows", "valid", "invalid", "duplicate")},
        "error_code": upload.get("error_code"),
        "error": upload.get("error"),
        "status_url": f"{base}/uploads/{quote(upload_id, safe='')}",
        "invalid_file_url": f"{base}/invalid-files/{quote(name, safe='')}" if name else None,
    }


def body(data: dict[str, Any]) -> str:
    """The exact text that is sent (and signed), the same at every attempt."""
    return json.dumps(data, separators=(",", ":"), sort_keys=True)
