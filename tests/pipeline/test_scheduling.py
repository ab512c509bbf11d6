"""Uploads interleave in the queue, chunk sizes are bounded, and no upload stays stuck:
the reaper sends lost work again, or fails the upload with the reason."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from oms import dispatch, queues
from oms.pipeline import reaper, schedule, split
from oms.stores import mongo, s3
from oms.uploads import keys
from oms.uploads import repository as repo
from tests.namespaces import Written, assert_nothing_written, changed, waiting_messages
from tests.pipeline.helpers import queued_upload, stored_upload, upload_bytes, wait_for_upload
from tests.pipeline.rows import to_csv, valid_row

pytestmark = pytest.mark.integration


def test_a_small_upload_is_not_held_behind_a_large_one(api, pipeline):
    large = upload_bytes(
        api, "large.csv", to_csv([valid_row(n, prefix="BIG") for n in range(200)]), chunk_rows=1
    )["upload_id"]
    small = upload_bytes(api, "small.csv", to_csv([valid_row(n, prefix="SML") for n in range(5)]))

    done = wait_for_upload(api, small["upload_id"], timeout=120)
    large_meanwhile = api.get(f"/uploads/{large}").get_json()

    assert done["status"] == "completed" and done["counts"]["valid"] == 5
    assert large_meanwhile["status"] == "processing"  # 200 chunks, at most 4 queued at once
    assert large_meanwhile["chunks"]["done"] < 200
    assert wait_for_upload(api, large, timeout=300)["counts"]["valid"] == 200


def test_small_uploads_and_the_short_tasks_take_the_express_queue(fresh_settings):
    with changed(fresh_settings, express_rows=10, chunks_in_flight=2) as settings:
        small = stored_upload("small.csv", [valid_row(n, prefix="XS") for n in range(10)], 4)
        large = stored_upload("large.csv", [valid_row(n, prefix="XL") for n in range(11)], 4)

        assert schedule.start(small) == 2 and schedule.start(large) == 2
        dispatch.start_split(large)
        dispatch.start_finalize(large)

        # the small upload's chunks (10 rows) and the split and finalization: express;
        # the large upload's chunks (11 rows): default
        assert waiting_messages(settings) == {queues.EXPRESS: 4, queues.DEFAULT: 2}


def test_chunk_rows_below_the_floor_is_refused(fresh_settings):
    # a namespace of its own: the module's worker (and its beat) sends nothing there
    settings = fresh_settings
    from oms.api.app import create_app

    with changed(settings, min_chunk_rows=500) as floored:
        client = create_app(floored).test_client()
        before = Written.now(settings)
        response = upload_response(client, chunk_rows=10)

    assert response.status_code == 422
    assert response.get_json()["fields"]["query"]["chunk_rows"] == [
        "chunk_rows must be at least 500"
    ]
    assert_nothing_written(settings, before)


def upload_response(client, **query):
    import io

    data = to_csv([valid_row(1, prefix="FLOOR")])
    return client.post(
        "/upload",
        query_string=query,
        data={"file": (io.BytesIO(data), "floor.csv")},
        content_type="multipart/form-data",
    )


def test_chunk_rows_grow_so_a_file_has_about_max_chunks(settings):
    head = b"h\n" + (b"x" * 99 + b"\n") * 10  # records of 100 bytes after the header
    with changed(settings, min_chunk_rows=10, max_chunks=100):
        assert split.chunk_rows_for(20, 10_000_000, head, 2) == 1000  # about 100k rows
        assert split.chunk_rows_for(5, 2_000, head, 2) == 10  # the floor
        assert split.chunk_rows_for(5000, 10_000_000, head, 2) == 5000  # as asked


def _stalled(settings, rows: int, chunk_rows: int, status_after_split: str | None = None) -> str:
    """An upload split into chunks whose messages were lost (none was ever sent)."""
    upload_id = uuid.uuid4().hex
    data = to_csv([valid_row(n, prefix=f"REAP{upload_id[:4]}") for n in range(rows)])
    key = keys.upload_key(upload_id, "stalled.csv")
    s3.put_bytes(key, data)
    repo.create_upload(
        upload_id,
        filename="stalled.csv",
        key=key,
        size=len(data),
        sha256="-",
        chunk_rows=chunk_rows,
    )
    assert split.split_upload(upload_id).action == "start"  # ... and nothing was sent
    long_ago = repo.now() - timedelta(hours=1)
    mongo.update_one(repo.uploads(), {"_id": upload_id}, {"$set": {"updated_at": long_ago}})
    return upload_id


def test_the_reaper_sends_the_chunks_of_a_stalled_upload_again(api, pipeline, settings):
    upload_id = _stalled(settings, rows=7, chunk_rows=2)

    assert reaper.reap() == {"redriven": 1, "failed": 0}

    upload = wait_for_upload(api, upload_id, timeout=120)
    assert upload["status"] == "completed"
    assert upload["counts"]["valid"] == 7 and upload["chunks"]["done"] == 4
    assert repo.get_upload(upload_id)["redrives"] == 1


def test_the_reaper_sends_a_split_whose_enqueue_failed(api, pipeline, settings):
    upload_id = uuid.uuid4().hex
    data = to_csv([valid_row(n, prefix=f"ENQ{upload_id[:4]}") for n in range(3)])
    key = keys.upload_key(upload_id, "enqueue.csv")
    s3.put_bytes(key, data)
    repo.create_upload(
        upload_id, filename="enqueue.csv", key=key, size=len(data), sha256="-", chunk_rows=10
    )
    repo.mark_enqueue_failed(upload_id)  # what the API does when SQS refuses the message

    assert reaper.reap()["redriven"] == 1  # at once: no need to wait for the stall time

    assert wait_for_upload(api, upload_id, timeout=120)["status"] == "completed"


def test_an_upload_still_stuck_after_its_redrives_fails_with_the_reason(settings):
    upload_id = _stalled(settings, rows=3, chunk_rows=1)
    mongo.update_one(
        repo.uploads(), {"_id": upload_id}, {"$set": {"redrives": settings.max_redrives}}
    )

    outcome = reaper.reap()

    upload = repo.get_upload(upload_id)
    assert outcome["failed"] == 1
    assert upload["status"] == "failed" and upload["error_code"] == "stalled"
    assert "no progress while processing" in upload["error"]


def test_a_fresh_upload_is_left_alone(settings):
    upload_id = _stalled(settings, rows=2, chunk_rows=1)
    mongo.update_one(repo.uploads(), {"_id": upload_id}, {"$set": {"updated_at": repo.now()}})

    before = repo.get_upload(upload_id)
    reaper.reap()

    assert repo.get_upload(upload_id)["_v"] == before["_v"]


def test_a_large_upload_sends_its_first_chunk_while_it_is_still_splitting(fresh_settings):
    """The first order must not wait for the whole file to be split (issue 12: first order
    stored within 2 s at a million rows; splitting 170 MB takes about 4 s)."""
    from celery.signals import before_task_publish

    seen: list[tuple[int, str, int]] = []

    def at_publish(sender=None, body=None, **_):
        if sender == dispatch.PROCESS_CHUNK:
            upload_id, index = body[0]
            seen.append(
                (index, repo.get_upload(upload_id)["status"], len(repo.list_chunks(upload_id)))
            )

    with changed(fresh_settings, express_rows=10) as settings:
        upload_id = queued_upload("early.csv", [valid_row(n, prefix="ER") for n in range(35)], 11)
        before_task_publish.connect(at_publish)
        try:
            result = split.split_upload(upload_id)
        finally:
            before_task_publish.disconnect(at_publish)
        upload = repo.get_upload(upload_id)

        assert seen == [(0, "splitting", 1)]  # sent when only chunk 0 was known
        assert result.action == split.SplitAction.START_CHUNKS
        assert upload["status"] == "processing" and upload["chunks_total"] == 4
        assert upload["first_chunk_sent"] is True and upload["chunk_rows"] == 11
        assert upload["to_send"] == [1, 2, 3]  # chunk 0 is not sent a second time
        assert waiting_messages(settings) == {queues.DEFAULT: 1}


def test_a_split_run_again_after_a_crash_does_not_send_its_first_chunk_again(fresh_settings):
    with changed(fresh_settings, express_rows=10) as settings:
        upload_id = queued_upload("again.csv", [valid_row(n, prefix="EA") for n in range(35)], 11)
        assert split.split_upload(upload_id).action == split.SplitAction.START_CHUNKS
        # as a split that crashed after sending chunk 0 leaves it: still splitting
        mongo.update_one(repo.uploads(), {"_id": upload_id}, {"$set": {"status": "splitting"}})

        assert split.split_upload(upload_id).action == split.SplitAction.START_CHUNKS
        assert repo.get_upload(upload_id)["to_send"] == [1, 2, 3]
        assert waiting_messages(settings) == {queues.DEFAULT: 1}


def test_a_small_upload_is_split_whole_before_any_chunk_is_sent(fresh_settings):
    with changed(fresh_settings, express_rows=100) as settings:
        upload_id = queued_upload("whole.csv", [valid_row(n, prefix="EW") for n in range(35)], 11)

        assert split.split_upload(upload_id).action == split.SplitAction.START_CHUNKS
        upload = repo.get_upload(upload_id)
        assert "first_chunk_sent" not in upload and upload["to_send"] == [0, 1, 2, 3]
        assert waiting_messages(settings) == {}
