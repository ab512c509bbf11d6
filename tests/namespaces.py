"""Test namespaces: settings whose bucket, queue prefix, database and topic prefix belong
to one test module (or one test), created before it and dropped after it.

``Written`` snapshots what a namespace holds in every system (S3 objects, queued
messages, Kafka messages, store documents), so a failure-path test can assert that
nothing was written anywhere.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
from celery.signals import before_task_publish
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from oms.config import Settings, configure
from oms.stores import mongo, s3

ROOT = Path(__file__).resolve().parent.parent
RUN = uuid.uuid4().hex[:6]
_numbers = itertools.count(1)
_sent: list[str] = []  # names of the tasks this process has sent


@before_task_publish.connect
def _count_sent(sender: str | None = None, **_: object) -> None:
    """Counts what this process enqueues: a worker may take a message off SQS before
    anyone could see it there."""
    _sent.append(str(sender))


def new_settings(base: Settings) -> Settings:
    """``base`` with names of their own: nothing else uses them."""
    name = f"{RUN}{next(_numbers):03d}"
    return dataclasses.replace(
        base,
        s3_bucket=f"oms-t-{name}",
        sqs_queue_prefix=f"t{name}-",
        mongo_db=f"oms_t_{name}",
        kafka_topic_prefix=f"t{name}.",
        metrics_dir=str(ROOT / ".stack" / "test-metrics" / name),
    )


@contextmanager
def namespace(base: Settings) -> Iterator[Settings]:
    """A new namespace, configured in this process (stores and Celery) for the block."""
    from workers.app import init_celery

    settings = new_settings(base)
    previous = configure(settings)
    init_celery(settings)
    s3.ensure_bucket()
    mongo.ensure_indexes()
    try:
        yield settings
    finally:
        drop(settings)
        configure(previous)
        init_celery(previous)


@contextmanager
def changed(settings: Settings, **changes: object) -> Iterator[Settings]:
    """``settings`` with ``changes``, configured in this process for the block."""
    changed_settings = dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
    previous = configure(changed_settings)
    try:
        yield changed_settings
    finally:
        configure(previous)


def _sqs(settings: Settings):
    return boto3.client(
        "sqs",
        endpoint_url=settings.aws_endpoint_url,
        region_name=settings.aws_region,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
    )


def waiting_messages(settings: Settings) -> dict[str, int]:
    """Messages waiting in each queue of the namespace, by name without the prefix."""
    sqs = _sqs(settings)
    waiting = {}
    for url in sqs.list_queues(QueueNamePrefix=settings.sqs_queue_prefix).get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        name = url.rsplit("/", 1)[1].removeprefix(settings.sqs_queue_prefix)
        waiting[name] = int(attributes["ApproximateNumberOfMessages"])
    return waiting


def _topics(settings: Settings) -> list[str]:
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap, "log_level": 0})
    return sorted(
        t for t in admin.list_topics(timeout=10).topics if t.startswith(settings.kafka_topic_prefix)
    )


def drop(settings: Settings) -> None:
    mongo.client().drop_database(settings.mongo_db)
    bucket = s3.client()
    for obj in s3.list_keys(""):
        bucket.delete_object(Bucket=settings.s3_bucket, Key=obj["Key"])
    bucket.delete_bucket(Bucket=settings.s3_bucket)
    sqs = _sqs(settings)
    for url in sqs.list_queues(QueueNamePrefix=settings.sqs_queue_prefix).get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)
    topics = _topics(settings)
    if topics:
        admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap, "log_level": 0})
        for future in admin.delete_topics(topics).values():
            future.result(timeout=30)


@dataclass(frozen=True)
class Written:
    """What a namespace holds, in every system OMS writes to."""

    s3_objects: frozenset[str]
    tasks_sent: int  # by this process (the API test client runs here)
    queued_messages: int
    kafka_messages: int
    documents: dict[str, int]

    @classmethod
    def now(cls, settings: Settings) -> Written:
        sqs = _sqs(settings)
        queued = 0
        for url in sqs.list_queues(QueueNamePrefix=settings.sqs_queue_prefix).get("QueueUrls", []):
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            queued += sum(int(value) for value in attributes.values())
        database = mongo.client()[settings.mongo_db]
        documents = {
            name: database[name].count_documents({}) for name in database.list_collection_names()
        }
        return cls(
            frozenset(obj["Key"] for obj in s3.list_keys("")),
            len(_sent),
            queued,
            _kafka_messages(settings),
            documents,
        )


def _kafka_messages(settings: Settings) -> int:
    topics = _topics(settings)
    if not topics:
        return 0
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"written-{uuid.uuid4().hex}",
            "log_level": 0,
        }
    )
    try:
        metadata = consumer.list_topics(timeout=10)
        total = 0
        for topic in topics:
            for partition in metadata.topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10
                )
                total += high - low
        return total
    finally:
        consumer.close()


def assert_nothing_written(settings: Settings, before: Written) -> None:
    """Nothing was stored, queued or published in ``settings``'s namespace since
    ``before``."""
    after = Written.now(settings)
    assert after.s3_objects == before.s3_objects, after.s3_objects - before.s3_objects
    assert after.tasks_sent == before.tasks_sent, _sent[before.tasks_sent :]
    assert after.queued_messages == before.queued_messages
    assert after.kafka_messages == before.kafka_messages
    changed = {
        name: count
        for name, count in after.documents.items()
        if count != before.documents.get(name, 0)
    }
    assert not changed, f"documents written: {changed}"
