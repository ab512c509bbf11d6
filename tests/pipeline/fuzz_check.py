"""What every hostile file must come to: completed, or refused/rejected with a precise
reason; never a 5xx, a failed upload, or an upload that does not end."""

from __future__ import annotations

import io
import time
from typing import Any

TERMINAL = {"completed", "failed", "rejected"}


def outcome_of(api: Any, data: bytes, timeout: float = 180) -> dict[str, Any]:
    """Upload ``data``; what came of it. Raises AssertionError on a wrong outcome."""
    response = api.post(
        "/upload",
        query_string={"force": "true"},  # generated files repeat: each goes through anyway
        data={"file": (io.BytesIO(data), "fuzz.csv", "text/csv")},
        content_type="multipart/form-data",
    )
    body = response.get_json()
    assert response.status_code < 500, (response.status_code, body)
    if response.status_code != 202:
        assert body["code"] and body["message"], body  # refused, saying why
        return {"outcome": "refused", "code": body["code"]}
    deadline = time.monotonic() + timeout
    while True:
        upload = api.get(f"/uploads/{body['upload_id']}").get_json()
        if upload["status"] in TERMINAL:
            break
        assert time.monotonic() < deadline, f"upload {body['upload_id']} hangs: {upload}"
        time.sleep(0.2)
    assert upload["status"] != "failed", upload
    if upload["status"] == "rejected":
        assert upload["error_code"] and upload["error"], upload
        return {"outcome": "rejected", "code": upload["error_code"]}
    counts = upload["counts"]
    assert counts["rows"] == counts["valid"] + counts["invalid"], counts
    return {"outcome": "completed", "code": "valid" if not counts["invalid"] else "invalid_rows"}
