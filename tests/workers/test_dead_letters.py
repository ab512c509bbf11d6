"""Poison task messages end somewhere visible and block nothing."""

from __future__ import annotations

import time

import boto3
import pytest

from oms.stores import sqs
from tests.pipeline.helpers import upload_bytes, wait_for_upload
from tests.pipeline.rows import to_csv, valid_row

pytestmark = pytest.mark.integration


def _client(settings):
    return boto3.client(
        "sqs",
        endpoint_url=settings.aws_endpoint_url,
        region_name=settings.aws_region,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
    )


def test_a_message_received_too_often_moves_to_the_dead_letter_queue(settings):
    """What SQS does with a message whose workers die holding it: after OMS_MAX_RECEIVES
    receives without a delete it is parked, and /metrics counts it."""
    from oms.api.app import create_app

    sqs.ensure_dead_letters()
    client = _client(settings)
    queue = client.get_queue_url(QueueName=f"{settings.sqs_queue_prefix}default")["QueueUrl"]
    poison = client.get_queue_url(QueueName=f"{settings.sqs_queue_prefix}dead-letter")
    client.send_message(QueueUrl=queue, MessageBody="not a task the workers could ever finish")

    for _ in range(settings.max_receives):  # a worker takes it and dies, again and again
        got = client.receive_message(QueueUrl=queue, VisibilityTimeout=1, WaitTimeSeconds=2)
        assert got.get("Messages"), "the message should come back until the limit"
        time.sleep(1.2)
    deadline = time.monotonic() + 10
    while sqs.dead_letters() == 0 and time.monotonic() < deadline:
        client.receive_message(QueueUrl=queue, WaitTimeSeconds=1)  # SQS moves it on receive
    metrics = create_app(settings).test_client().get("/metrics").get_data(as_text=True)

    assert sqs.dead_letters() == 1
    assert client.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages") is None
    assert "oms_dead_letters 1.0" in metrics
    client.purge_queue(QueueUrl=poison["QueueUrl"])


def test_a_chunk_that_kept_stopping_its_workers_is_failed_not_run_again(api, pipeline, settings):
    from oms.stores import mongo
    from oms.uploads import repository as repo

    accepted = upload_bytes(api, "poison.csv", to_csv([valid_row(1, prefix="POISON")]))
    upload = wait_for_upload(api, accepted["upload_id"])
    assert upload["status"] == "completed"
    # As if chunk 0 had been started again and again by workers that died: reset it.
    mongo.update_one(
        repo.chunks(),
        {"_id": repo.chunk_key(upload["upload_id"], 0)},
        {"$set": {"status": "pending", "attempts": 50}},
    )
    mongo.update_one(
        repo.uploads(),
        {"_id": upload["upload_id"]},
        {"$set": {"status": "processing"}, "$pull": {"counted_chunks": 0}},
    )

    from oms import dispatch

    dispatch.send_chunk(upload["upload_id"], 0)
    deadline = time.monotonic() + 60
    while repo.get_chunk(upload["upload_id"], 0)["status"] == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.2)

    chunk = repo.get_chunk(upload["upload_id"], 0)
    assert chunk["status"] == "failed"
    assert "started 50 times and never ended" in chunk["error"]
    assert chunk["attempts"] == 51
