"""The order finalizer: a Kafka consumer (group ``oms-order-finalizer``) of order.created.

Console script ``oms-finalizer``. Several processes share the topic's partitions. Each
batch (up to ``OMS_FINALIZER_BATCH`` messages) goes through ``oms.orders.finalize``
(one IMS batch call, asked while the batch before is still being stored; concurrent
conditional updates), then its ``order.updated`` events
are published and confirmed, then its finalizations are counted (exactly once, per
partition offset: ``oms.orders.counts``), and only then are its offsets committed. A
crash at any point replays the batch, which changes nothing that was done and re-sends
the same events. When IMS, the store or Kafka cannot answer, the assigned partitions are
paused (the consumer stays in its group) and the batch is retried with backoff; no
message is skipped. A process given partitions first repairs the counts a crash may have
left short (``_repair_counts``).
"""

from __future__ import annotations

import json
import logging
import random
import signal
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from oms import stats
from oms.config import Settings, get_settings
from oms.errors import Unavailable
from oms.observability.logging import configure_logging
from oms.orders import counts, events, outbox
from oms.orders.finalize import finalize, reserve
from oms.stores import ims, kafka

log = logging.getLogger(__name__)

GROUP = "oms-order-finalizer"
MAX_BACKOFF_S = 30.0
AHEAD_WAIT_S = 0.1  # how long consume waits for more while a batch is in hand


def group_id(settings: Settings) -> str:
    """The consumer group: one per deployment (its topic prefix), ``oms-order-finalizer``
    when there is none."""
    return f"{settings.kafka_topic_prefix}{GROUP}"


def consumer(settings: Settings) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": group_id(settings),
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "max.poll.interval.ms": 600_000,
            "session.timeout.ms": 30_000,
            "log_level": 3,
        }
    )


def lag(settings: Settings | None = None) -> dict[int, int]:
    """Messages of order.created not yet committed by the group, per partition."""
    settings = settings or get_settings()
    topic = settings.topic(events.ORDER_CREATED)
    reader = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": group_id(settings),
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    try:
        metadata = reader.list_topics(topic, timeout=10)
        if topic not in metadata.topics or metadata.topics[topic].error is not None:
            return {}
        partitions = [TopicPartition(topic, p) for p in metadata.topics[topic].partitions]
        committed = {tp.partition: tp.offset for tp in reader.committed(partitions, timeout=10)}
        behind = {}
        for tp in partitions:
            low, high = reader.get_watermark_offsets(tp, timeout=10)
            done = committed.get(tp.partition, -1)
            behind[tp.partition] = high - (done if done >= 0 else low)
        return behind
    except KafkaException as exc:
        raise Unavailable(f"Kafka did not answer: {exc}") from exc
    finally:
        reader.close()


def run(stop: threading.Event, settings: Settings | None = None) -> None:
    """Consume until ``stop`` is set. While one batch is stored, published and counted,
    IMS is already asked for the next one's reservations (``Batch.reserved``): the two
    waits overlap instead of adding up."""
    settings = settings or get_settings()
    topic = settings.topic(events.ORDER_CREATED)
    kafka.ensure_topic(topic)
    source = consumer(settings)
    source.subscribe([topic], on_assign=_repair_counts)
    log.info("finalizer consuming %s as %s", topic, group_id(settings))
    ahead = ThreadPoolExecutor(1, thread_name_prefix="finalizer-reserve")
    pending: Batch | None = None
    try:
        while not stop.is_set():
            messages = source.consume(
                num_messages=settings.finalizer_batch,
                timeout=AHEAD_WAIT_S if pending else 1.0,
            )
            for failed in (m for m in messages if m.error() is not None):
                log.warning("kafka: %s", failed.error())
            batch = _batch([m for m in messages if m.error() is None])
            if batch is not None and batch.payloads:
                batch.reserved = ahead.submit(reserve, batch.payloads)
            if pending is not None:
                _until_done(source, pending, stop)
            pending = batch
    finally:
        ahead.shutdown(cancel_futures=True)
        source.close()


def _repair_counts(_: Consumer, partitions: list[TopicPartition]) -> None:
    """On being given partitions: copy the checkpoints' exact counts to the uploads and
    /stats (``oms.stats.reconcile``). A finalizer killed after counting a batch in its
    checkpoint and before copying the count left them short, and the replay counts
    nothing (the checkpoint is past it); whoever takes its partitions over repairs it."""
    if not partitions:
        return
    try:
        stats.reconcile()
    except Unavailable as exc:
        log.warning("finalizer: counts not reconciled (%s); the beat will", exc)


@dataclass
class Batch:
    """Consumed messages, their order.created events, and IMS's answers once asked."""

    messages: list[Message]
    payloads: list[dict[str, Any]]
    positions: dict[str, list[tuple[str, int, int]]]  # order -> (topic, partition, offset)
    reserved: Future[dict[str, ims.Reservation]] | None = None


def _batch(messages: list[Message]) -> Batch | None:
    """The batch of ``messages`` (None when there are none); a malformed message is
    logged and left out of the events, its offset committed with the rest."""
    if not messages:
        return None
    batch = Batch(messages, [], defaultdict(list))
    for message in messages:
        try:
            payload = json.loads(message.value() or b"")  # no value: malformed too
            order_id = payload["order_id"]
        except (ValueError, TypeError, KeyError):
            log.error(
                "finalizer: skipping a malformed message at %s[%d]@%d",
                message.topic(),
                message.partition(),
                message.offset(),
            )
            continue
        batch.payloads.append(payload)
        batch.positions[order_id].append(_position(message))
    return batch


def _until_done(source: Consumer, batch: Batch, stop: threading.Event) -> None:
    """Process ``batch`` and commit it, retrying what fails for a transient reason."""
    attempt = 0
    paused: list[TopicPartition] = []
    while not stop.is_set():
        try:
            process(batch)
            _commit(source, batch.messages)
            break
        except Unavailable as exc:
            if not paused:
                paused = source.assignment()
                source.pause(paused)
            delay = random.uniform(0.5, min(MAX_BACKOFF_S, 1.0 * 2**attempt))
            attempt += 1
            log.warning("finalizer: %s; retrying the batch in %.1fs", exc, delay)
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and not stop.is_set():
                source.poll(0.2)  # stays in the group; paused, so no message comes
    if paused:
        source.resume(paused)


def process(batch: Batch) -> dict[str, int]:
    """Finalize, publish, count one batch (not committed yet). IMS's answers asked ahead
    are used once; a retry asks again (a reservation is idempotent by order_id)."""
    answers = None
    if batch.reserved is not None:
        reserved, batch.reserved = batch.reserved, None
        answers = reserved.result()  # raises reserve's Unavailable
    outcome = finalize(batch.payloads, answers)
    unconfirmed = outbox.publish(outcome.events)
    if unconfirmed:
        raise Unavailable(f"Kafka did not confirm {len(unconfirmed)} order.updated events")
    by_partition: dict[tuple[str, int], dict[int, Any]] = defaultdict(dict)
    for order_id, positions in batch.positions.items():
        for topic, partition, offset in positions:
            decided = outcome.finalized.get(order_id)
            if decided is not None:
                by_partition[(topic, partition)][offset] = decided
    counted = 0
    for (topic, partition), offsets in _ranges(batch.messages).items():
        first, last = offsets
        counted += counts.count_finalized(
            topic, partition, first, last + 1, by_partition.get((topic, partition), {})
        )
    log.info(
        "finalized a batch",
        extra={
            "messages": len(batch.messages),
            "moved": outcome.moved,
            "counted": counted,
            "released": outcome.released,
        },
    )
    return {"messages": len(batch.messages), "moved": outcome.moved, "counted": counted}


def _position(message: Message) -> tuple[str, int, int]:
    """(topic, partition, offset) of a consumed message: all set when it has no error."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    assert topic is not None and partition is not None and offset is not None
    return topic, partition, offset


def _ranges(batch: list[Message]) -> dict[tuple[str, int], tuple[int, int]]:
    ranges: dict[tuple[str, int], tuple[int, int]] = {}
    for message in batch:
        topic, partition, offset = _position(message)
        key = (topic, partition)
        first, last = ranges.get(key, (offset, offset))
        ranges[key] = (min(first, offset), max(last, offset))
    return ranges


def _commit(source: Consumer, batch: list[Message]) -> None:
    offsets = [
        TopicPartition(topic, partition, last + 1)
        for (topic, partition), (_, last) in _ranges(batch).items()
    ]
    try:
        source.commit(offsets=offsets, asynchronous=False)
    except KafkaException as exc:
        # Lost the partitions in a rebalance: their new owner replays the batch, which
        # changes nothing (see the module docstring).
        log.warning("finalizer: commit refused (%s); the batch will be replayed", exc)


def main() -> None:
    """``oms-finalizer``: consume until SIGTERM or SIGINT."""
    settings = get_settings()
    configure_logging(settings.log_level)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run(stop, settings)


if __name__ == "__main__":
    main()
