"""A worker can die at any line: when SQS redelivers the chunk, the re-run must end with
the effect of one clean run (orders once, counts once, every event published)."""

import uuid

import pytest

from oms.orders import outbox
from oms.pipeline import chunk, finalize
from oms.stores import mongo, s3
from oms.uploads import repository as repo
from tests.pipeline.helpers import read_topic, stored_upload
from tests.pipeline.rows import valid_row

pytestmark = pytest.mark.integration


class Crash(Exception):
    """Stands for the process dying at this point."""


# The step after which the worker "dies": (module, function name) replaced by a crash.
CRASH_POINTS = {
    "after the insert, before publishing": (outbox, "publish"),
    "after publishing, before the invalid part": (chunk, "write_part"),
    "after the part, before the chunk is done": (repo, "finish_chunk"),
    "after the chunk is done, before the upload counts": (repo, "add_chunk_counts"),
}


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_chunk_rerun_after_a_crash_has_the_effect_of_one_run(
    point, ims_service, settings, monkeypatch
):
    rows = [valid_row(n, prefix=f"CRASH{uuid.uuid4().hex[:4]}") for n in range(6)]
    rows[3]["customer_email"] = "broken"
    upload_id = stored_upload("crash.csv", rows)
    module, name = CRASH_POINTS[point]

    def crash(*args, **kwargs):
        raise Crash(point)

    monkeypatch.setattr(module, name, crash)
    with pytest.raises(Crash):
        chunk.process_chunk(upload_id, 0)
    monkeypatch.undo()

    counts = chunk.process_chunk(upload_id, 0)  # the redelivered message
    final = finalize.finalize_upload(upload_id)

    assert counts == {"rows": 6, "valid": 5, "invalid": 1, "duplicate": 0}
    assert final["status"] == "completed"
    upload = repo.get_upload(upload_id)
    assert upload["counts"] == counts
    assert upload["order_counts"]["total"] == 5
    stored = list(mongo.db()["orders"].find({"upload_id": upload_id}))
    assert len(stored) == 5
    assert repo.get_chunk(upload_id, 0)["status"] == "done"
    events = [
        m
        for m in read_topic(settings.kafka_bootstrap, settings.topic("order.created"), expect=5)
        if m["value"]["upload_id"] == upload_id
    ]
    assert {m["key"] for m in events} == {o["order_id"] for o in stored}
    assert len({m["value"]["event_id"] for m in events}) == 5  # repeats share their id
    report = s3.read(upload["invalid_file_key"]).decode().splitlines()
    assert len(report) == 2 and report[1].split(",")[-2] == "5"
