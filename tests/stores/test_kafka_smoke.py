"""Kafka through the project's producer, read back with a real consumer."""

import json
import uuid

import pytest
from confluent_kafka import Consumer

from oms.stores import kafka

pytestmark = pytest.mark.integration


def test_keyed_message_is_confirmed_and_read_back(settings):
    topic = settings.topic("smoke")
    key = f"order-{uuid.uuid4().hex[:6]}"

    delivered = kafka.publish([kafka.Message(topic, key, {"n": 1, "kind": "smoke"})])

    assert delivered == {key}
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"smoke-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "log_level": 0,
        }
    )
    consumer.subscribe([topic])
    try:
        received = []
        for _ in range(60):
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                received.append(msg)
                break
    finally:
        consumer.close()
    assert [m.key().decode() for m in received] == [key]
    assert json.loads(received[0].value()) == {"n": 1, "kind": "smoke"}


def _read_all(settings, topic: str, expect: int) -> list:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"smoke-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "log_level": 0,
        }
    )
    consumer.subscribe([topic])
    received = []
    try:
        for _ in range(120):
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                received.append(msg)
            if len(received) == expect:
                break
    finally:
        consumer.close()
    return received


def test_order_created_events_of_one_block_share_a_partition(settings):
    """Keyed by order_id, the events of a listing block go to one partition, chosen by
    the block; another block may go elsewhere; other events are placed by their key."""
    from oms.orders import events

    topic = settings.topic(events.ORDER_CREATED)
    kafka.ensure_topic(topic)
    upload = uuid.uuid4().hex[:8]
    blocks = [f"{upload}:{n}" for n in range(12)]
    payloads = [
        {
            "event_type": events.ORDER_CREATED,
            "order_id": f"{block}-{n}",
            "block": block,
        }
        for block in blocks
        for n in range(5)
    ]

    delivered = kafka.publish([events.message(p) for p in payloads])

    assert delivered == {p["order_id"] for p in payloads}
    received = _read_all(settings, topic, len(payloads))
    partitions: dict[str, set[int]] = {}
    for msg in received:
        assert msg.key().decode() == json.loads(msg.value())["order_id"]
        partitions.setdefault(json.loads(msg.value())["block"], set()).add(msg.partition())
    assert sorted(partitions) == sorted(blocks)
    assert all(len(used) == 1 for used in partitions.values()), partitions
    # 12 blocks over the topic's partitions: more than one partition is used.
    assert len(set().union(*partitions.values())) > 1
