"""SQS delivers at least once: a chunk that runs twice must have the effect of one run."""

import pytest

from oms.errors import Unavailable
from oms.orders import events
from oms.pipeline import chunk, finalize, split
from oms.stores import kafka, mongo
from oms.uploads import repository as repo
from tests.pipeline.helpers import read_topic, stored_upload
from tests.pipeline.rows import valid_row

pytestmark = pytest.mark.integration


def test_a_chunk_run_twice_stores_and_counts_each_order_once(ims_service, settings):
    rows = [valid_row(n, prefix="REDELIVER") for n in range(6)]
    rows[2]["quantity"] = "0"
    upload_id = stored_upload("redeliver.csv", rows, chunk_rows=10)

    first = chunk.process_chunk(upload_id, 0)
    mongo.update_one(
        repo.chunks(), {"_id": repo.chunk_key(upload_id, 0)}, {"$set": {"status": "pending"}}
    )  # as if the ack was lost
    second = chunk.process_chunk(upload_id, 0)
    result = finalize.finalize_upload(upload_id)

    assert first == second == {"rows": 6, "valid": 5, "invalid": 1, "duplicate": 0}
    assert mongo.db()["orders"].count_documents({"upload_id": upload_id}) == 5
    upload = repo.get_upload(upload_id)
    assert upload["counts"] == {"rows": 6, "valid": 5, "invalid": 1, "duplicate": 0}
    assert upload["order_counts"]["total"] == 5
    assert result["status"] == "completed"

    published = [
        m
        for m in read_topic(settings.kafka_bootstrap, settings.topic("order.created"), expect=5)
        if m["value"]["upload_id"] == upload_id
    ]
    by_order: dict[str, set[str]] = {}
    for message in published:
        by_order.setdefault(message["key"], set()).add(message["value"]["event_id"])
    assert len(by_order) == 5
    assert all(len(ids) == 1 for ids in by_order.values())  # repeats carry the same id


def test_a_chunk_already_done_returns_its_counts_without_work(ims_service, settings):
    upload_id = stored_upload(
        "done.csv", [valid_row(n, prefix="DONE") for n in range(3)], chunk_rows=10
    )
    counts = chunk.process_chunk(upload_id, 0)
    attempts = repo.get_chunk(upload_id, 0)["attempts"]

    again = chunk.process_chunk(upload_id, 0)

    assert again == counts
    assert repo.get_chunk(upload_id, 0)["attempts"] == attempts
    assert repo.get_upload(upload_id)["counts"]["valid"] == 3


def test_a_chunk_whose_events_kafka_did_not_confirm_is_not_done_and_runs_again(
    ims_service, fresh_settings, monkeypatch
):
    settings = fresh_settings
    upload_id = stored_upload(
        "unconfirmed.csv", [valid_row(n, prefix="UNCONF") for n in range(4)], chunk_rows=10
    )
    # Kafka confirms nothing during the chunk (a broker outage as the producer sees it).
    monkeypatch.setattr(kafka, "publish", lambda messages: set())
    with pytest.raises(Unavailable, match="did not confirm 4 of 4"):
        chunk.process_chunk(upload_id, 0)
    monkeypatch.undo()
    assert repo.get_chunk(upload_id, 0)["status"] == "pending"  # so the task retries

    counts = chunk.process_chunk(upload_id, 0)  # the retry, Kafka back

    assert counts["valid"] == 4 and repo.get_chunk(upload_id, 0)["status"] == "done"
    assert mongo.db()["orders"].count_documents({"upload_id": upload_id}) == 4
    published = [
        m
        for m in read_topic(settings.kafka_bootstrap, settings.topic("order.created"), expect=4)
        if m["value"]["upload_id"] == upload_id
    ]
    stored = mongo.db()["orders"].find({"upload_id": upload_id})
    assert sorted(m["key"] for m in published) == sorted(o["order_id"] for o in stored)
    assert {m["value"]["event_id"] for m in published} == {
        events.event_id(m["key"], "order.created") for m in published
    }


def test_a_split_run_again_keeps_the_chunks_and_their_progress(ims_service, settings):
    rows = [valid_row(n, prefix="RESPLIT") for n in range(5)]
    upload_id = stored_upload("resplit.csv", rows, chunk_rows=2)
    chunk.process_chunk(upload_id, 0)
    before = repo.list_chunks(upload_id)
    # As if the worker died after recording the chunks, before starting their tasks.
    mongo.update_one(repo.uploads(), {"_id": upload_id}, {"$set": {"status": "splitting"}})

    again = split.split_upload(upload_id)

    after = repo.list_chunks(upload_id)
    assert again.chunk_indexes == (0, 1, 2)
    assert [(c["index"], c["start"], c["end"], c["rows"]) for c in after] == [
        (c["index"], c["start"], c["end"], c["rows"]) for c in before
    ]
    assert [c["status"] for c in after] == ["done", "pending", "pending"]
    assert [c["rows"] for c in after] == [2, 2, 1]
