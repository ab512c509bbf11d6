"""The worker logs JSON lines that name the upload and the chunk they are about."""

import json
import time

import pytest

from tests.conftest import worker_log
from tests.pipeline.helpers import upload_bytes, wait_for_upload
from tests.pipeline.rows import to_csv, valid_row

pytestmark = pytest.mark.integration


def worker_log_lines(settings) -> list[dict]:
    """Every JSON line of this module's worker log (the start-up banner is plain text)."""
    text = worker_log(settings).read_text()
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_chunk_lines_are_json_with_the_upload_id_and_chunk(api, pipeline, settings):
    accepted = upload_bytes(
        api, "logs.csv", to_csv([valid_row(n, prefix="LOG") for n in range(3)]), chunk_rows=2
    )
    upload_id = accepted["upload_id"]
    assert wait_for_upload(api, upload_id)["status"] == "completed"

    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in worker_log_lines(settings) if line.get("upload_id") == upload_id]
        done = [line for line in lines if line["message"] == "chunk done"]
        # Celery logs a task's "succeeded" line after the task has returned, so after its
        # "chunk done": wait for both (the check below raced it once in CI).
        ended = {line.get("task_id") for line in lines if "succeeded" in line["message"]}
        if len(done) == 2 and {line["task_id"] for line in done} <= ended:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)

    assert sorted(line["chunk"] for line in done) == [0, 1]
    first = next(line for line in done if line["chunk"] == 0)
    assert first["level"] == "INFO"
    assert first["logger"] == "oms.pipeline.chunk"
    assert (first["rows"], first["valid"], first["invalid"]) == (2, 2, 0)
    assert first["task_name"] == "oms.process_chunk"
    # Celery's own line for that task: JSON too, with its task and the task's upload/chunk.
    succeeded = [
        line
        for line in lines
        if line.get("task_id") == first["task_id"] and "succeeded" in line["message"]
    ]
    assert len(succeeded) == 1
    assert (succeeded[0]["logger"], succeeded[0]["chunk"]) == ("celery.app.trace", 0)
    assert {line.get("task_name") for line in lines} >= {
        "oms.ingest_upload",
        "oms.process_chunk",
        "oms.finalize_upload",
    }
