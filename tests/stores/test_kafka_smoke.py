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
