"""Stopping an upload: chunks not yet run never run, what was stored stays and is
counted, the upload ends ``cancelled``; nothing to stop is refused with what applies."""

from __future__ import annotations

import time
import uuid

import pytest

from oms.errors import Conflict
from oms.orders.store import orders
from oms.pipeline import cancel, chunk, finalize, schedule, split
from oms.stores import s3
from oms.uploads import repository as repo
from tests.namespaces import Written, assert_nothing_written, changed
from tests.pipeline.helpers import (
    queued_upload,
    read_topic,
    stored_upload,
    upload_bytes,
    wait_for_upload,
)
from tests.pipeline.rows import to_csv, valid_row

pytestmark = pytest.mark.integration


def _events_of(settings, upload_id: str, expect: int) -> set[str]:
    """The order ids of ``upload_id``'s order.created events (``expect`` at least)."""
    messages = read_topic(
        settings.kafka_bootstrap, settings.topic("order.created"), expect=expect, idle_s=3
    )
    return {m["key"] for m in messages if m["value"]["upload_id"] == upload_id}


def test_a_cancel_stops_the_chunks_not_run_and_keeps_what_was_stored(ims_service, settings):
    rows = [valid_row(n, prefix=f"CNL{uuid.uuid4().hex[:4]}") for n in range(8)]
    rows[1]["customer_email"] = "broken"  # an invalid row in the chunk that runs
    rows[5]["customer_email"] = "broken"  # one in a chunk that never runs
    upload_id = stored_upload("cancel.csv", rows, chunk_rows=2)  # 4 chunks
    with changed(settings, chunks_in_flight=2):
        assert schedule.start(upload_id) == 2  # chunks 0 and 1 are in the queue
    chunk.process_chunk(upload_id, 0)  # chunk 0 ran before the cancel

    cancelled = cancel.cancel_upload(upload_id)
    assert cancel.cancel_upload(upload_id)["cancel_requested"] is True  # twice = once
    late = chunk.process_chunk(upload_id, 1)  # sent before the cancel, runs after it
    schedule.chunk_ended(upload_id)
    final = finalize.finalize_upload(upload_id)

    upload = repo.get_upload(upload_id)
    assert cancelled["status"] == "processing" and cancelled["cancel_requested"] is True
    assert sorted(cancelled["cancelled_chunks"]) == [2, 3]  # never sent
    assert late == {"rows": 0, "valid": 0, "invalid": 0, "duplicate": 0}
    assert final["status"] == "cancelled" and upload["status"] == "cancelled"
    assert upload["counts"] == {"rows": 2, "valid": 1, "invalid": 1, "duplicate": 0}
    assert upload["cancelled_chunks"] == [1, 2, 3] and upload["failed_chunks"] == []
    assert [c["status"] for c in repo.list_chunks(upload_id)] == [
        "done",
        "cancelled",
        "cancelled",
        "cancelled",
    ]
    stored = {o["order_id"] for o in orders().find({"upload_id": upload_id})}
    assert stored == {rows[0]["order_id"]}
    assert _events_of(settings, upload_id, len(stored)) == stored
    invalid = s3.read(upload["invalid_file_key"]).decode()
    assert rows[1]["order_id"] in invalid and rows[5]["order_id"] not in invalid
    assert upload["order_counts"]["by_status"]["on_hold"] == 1


def test_chunks_a_second_finalization_cancelled_first_are_counted_cancelled_not_failed(
    ims_service, settings, monkeypatch
):
    rows = [valid_row(n, prefix=f"CNL2{uuid.uuid4().hex[:4]}") for n in range(8)]
    upload_id = stored_upload("twice.csv", rows, chunk_rows=2)  # 4 chunks, none sent
    chunk.process_chunk(upload_id, 0)
    assert repo.request_cancel(upload_id, cancel.RUNNING)
    listed = repo.list_chunks

    def listed_then_raced(uid: str) -> list[dict]:
        """The chunks as this finalization lists them; right after, a redelivered
        finalization of the same upload cancels chunks 2 and 3 before this one can."""
        docs = listed(uid)
        monkeypatch.setattr(repo, "list_chunks", listed)
        repo.cancel_chunk(uid, 2)
        repo.cancel_chunk(uid, 3)
        return docs

    monkeypatch.setattr(repo, "list_chunks", listed_then_raced)
    final = finalize.finalize_upload(upload_id)

    upload = repo.get_upload(upload_id)
    assert final["status"] == "cancelled"
    assert sorted(upload["cancelled_chunks"]) == [1, 2, 3]
    assert upload["failed_chunks"] == [] and upload["error"] is None
    assert upload["counts"] == {"rows": 2, "valid": 2, "invalid": 0, "duplicate": 0}


def test_a_queued_upload_is_cancelled_at_once_and_never_split(settings):
    upload_id = queued_upload("queued.csv", [valid_row(0, prefix="CNLQ")])

    upload = cancel.cancel_upload(upload_id)
    result = split.split_upload(upload_id)  # its split message, delivered after the cancel

    assert upload["status"] == "cancelled" and upload["timings"]["finished_at"]
    assert result.action == split.SplitAction.SKIP
    assert repo.list_chunks(upload_id) == []


def test_a_cancel_of_a_failed_upload_closes_it_and_a_retry_is_then_refused(api, settings):
    upload_id = stored_upload("failed.csv", [valid_row(0, prefix="CNLF")])
    repo.fail_chunk(upload_id, 0, "IMS unavailable")
    finalize.finalize_upload(upload_id)
    assert repo.get_upload(upload_id)["status"] == "failed"

    answer = api.post(f"/uploads/{upload_id}/cancel")
    retry = api.post(f"/uploads/{upload_id}/retry")

    assert answer.status_code == 202 and answer.get_json()["status"] == "cancelled"
    assert retry.status_code == 409
    assert "only a failed upload can be retried" in retry.get_json()["message"]


def test_nothing_to_stop_is_refused_saying_what_applies_and_writes_nothing(api, settings):
    upload_id = stored_upload("done.csv", [valid_row(0, prefix=f"CNLD{uuid.uuid4().hex[:4]}")])
    chunk.process_chunk(upload_id, 0)
    repo.get_upload(upload_id)
    with changed(settings, chunks_in_flight=1):
        schedule.start(upload_id)
    finalize.finalize_upload(upload_id)
    assert repo.get_upload(upload_id)["status"] == "completed"
    before = Written.now(settings)

    refused = api.post(f"/uploads/{upload_id}/cancel")
    missing = api.post("/uploads/no-such-upload/cancel")

    assert refused.status_code == 409
    assert refused.get_json()["code"] == "not_cancellable"
    assert f"POST /uploads/{upload_id}/undo" in refused.get_json()["message"]
    assert missing.status_code == 404
    assert_nothing_written(settings, before)
    with pytest.raises(Conflict, match="completed"):
        cancel.cancel_upload(upload_id)


def _wait_for_a_chunk_done(api, upload_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        upload = api.get(f"/uploads/{upload_id}").get_json()
        if upload["chunks"]["done"]:
            return upload
        time.sleep(0.05)
    raise AssertionError(f"no chunk of {upload_id} was done in {timeout} s")


def test_an_upload_cancelled_while_it_runs_ends_cancelled_with_exact_counts(
    api, pipeline, settings
):
    prefix = f"CNLR{uuid.uuid4().hex[:4]}"
    rows = [valid_row(n, prefix=prefix) for n in range(2000)]
    accepted = upload_bytes(api, "running.csv", to_csv(rows), chunk_rows=10)
    running = _wait_for_a_chunk_done(api, accepted["upload_id"])

    answer = api.post(f"/uploads/{accepted['upload_id']}/cancel")
    upload = wait_for_upload(api, accepted["upload_id"])

    assert running["status"] == "processing"
    assert answer.status_code == 202, answer.get_json()
    assert upload["status"] == "cancelled"
    chunks = upload["chunks"]
    assert chunks["cancelled"] > 0 and chunks["pending"] == 0
    assert chunks["done"] + chunks["cancelled"] == chunks["total"]
    stored = orders().count_documents({"upload_id": upload["upload_id"]})
    assert upload["counts"]["valid"] == stored < len(rows)  # what is stored is counted
    assert upload["order_status"]["on_hold"] == stored
    assert len(_events_of(settings, upload["upload_id"], stored)) == stored
