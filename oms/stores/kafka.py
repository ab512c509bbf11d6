"""Kafka producer: one per process, created after fork, idempotent, delivery confirmed."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka import Message as KafkaMessage

from oms.config import get_settings
from oms.errors import Unavailable
from oms.observability import metrics
from oms.stores.blocking import off_event_loop
from oms.stores.process_local import per_process

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    topic: str
    key: str
    value: dict


@per_process
def producer() -> Producer:
    return Producer(
        {
            "bootstrap.servers": get_settings().kafka_bootstrap,
            "enable.idempotence": True,  # implies acks=all
            "acks": "all",
            "linger.ms": 20,
            "compression.type": "lz4",
            "message.timeout.ms": int(delivery_timeout_s() * 1000),
            "log_level": 3,
        }
    )


def ensure_topic(topic: str) -> None:
    """Create ``topic`` with the configured partitions unless it exists (consumers do not
    create topics; a producer's first message would, with the broker's default)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    settings = get_settings()
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap, "log_level": 0})
    if topic in admin.list_topics(timeout=10).topics:
        return
    futures = admin.create_topics(
        [
            NewTopic(
                topic,
                num_partitions=settings.kafka_partitions,
                replication_factor=settings.kafka_replication,
            )
        ]
    )
    for future in futures.values():
        try:
            future.result(timeout=30)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise Unavailable(f"Kafka could not create {topic}: {exc}") from exc


def ping() -> None:
    """A broker answers with cluster metadata (raises Unavailable otherwise)."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": get_settings().kafka_bootstrap, "log_level": 0})
    try:
        # Waits in librdkafka (up to 3 s when the broker is away): off the API's event loop.
        brokers = off_event_loop(admin.list_topics, timeout=3).brokers
    except KafkaException as exc:
        raise Unavailable(f"Kafka did not answer: {exc}") from exc
    if not brokers:
        raise Unavailable("Kafka answered with no broker in its metadata")


def delivery_timeout_s() -> float:
    """How long to wait for Kafka's confirmations: 30 s, or less so a chunk's wait ends
    well within its task's soft time limit (then it is retried, not killed)."""
    return min(30.0, get_settings().task_time_limit_s * 0.4)


def publish(messages: Iterable[Message], timeout: float | None = None) -> set[str]:
    """Send ``messages`` and wait; returns the keys whose delivery Kafka confirmed.

    A key missing from the result was not confirmed (error or timeout): the caller keeps it
    for republishing. Raises Unavailable only if nothing could be queued at all.
    """
    delivered: set[str] = set()
    failed: list[str] = []

    def on_delivery(err: KafkaError | None, msg: KafkaMessage) -> None:
        raw_key = msg.key()
        assert raw_key is not None  # every message is produced with a key (below)
        key = raw_key.decode()
        if err is None:
            delivered.add(key)
        else:
            failed.append(key)
            metrics.KAFKA_DELIVERY_FAILURES.inc()
            log.warning("kafka delivery failed for %s: %s", key, err)

    kafka = producer()
    queued = 0
    try:
        for message in messages:
            payload = json.dumps(message.value, separators=(",", ":")).encode()
            while True:
                try:
                    kafka.produce(
                        message.topic,
                        key=message.key.encode(),
                        value=payload,
                        on_delivery=on_delivery,
                    )
                    queued += 1
                    break
                except BufferError:
                    kafka.poll(0.5)  # local queue full: let deliveries drain
            kafka.poll(0)
    except KafkaException as exc:
        if not queued:
            raise Unavailable(f"Kafka refused messages: {exc}") from exc
    timeout = delivery_timeout_s() if timeout is None else timeout
    remaining = _flush(kafka, timeout)
    if remaining:
        log.warning("kafka: %d messages still unconfirmed after %.0fs", remaining, timeout)
    return delivered


def _flush(kafka: Producer, timeout: float) -> int:
    """``kafka.flush(timeout)`` in slices of at most 50 ms with a yield between them.

    librdkafka waits in C, so in the API's gevent worker one long flush would hold every
    other request of the process; the delivery callbacks run inside flush and touch
    Python state, so it stays on this thread (not ``off_event_loop``). Elsewhere the
    slices change nothing: flush returns as soon as every message is confirmed."""
    deadline = time.monotonic() + timeout
    while True:
        remaining: int = kafka.flush(min(0.05, max(0.0, deadline - time.monotonic())))
        if not remaining or time.monotonic() >= deadline:
            return remaining
        time.sleep(0)  # under gevent, lets the other greenlets run
