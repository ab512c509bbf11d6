"""Celery's monitoring events take the Redis connection, whatever hands them a producer."""

import threading
import time
import uuid

import pytest
from celery import Celery
from kombu import Producer

from oms.observability.events import Consumer, events_connection


def _where(connection) -> str:
    return (
        f"{connection.transport.driver_type}://{connection.hostname}:{connection.port}"
        f"/{connection.virtual_host}"
    )


def _app(events_url: str = "redis://127.0.0.1:6379/5") -> Celery:
    app = Celery("events-test", events="oms.observability.events:Events", set_as_current=False)
    app.conf.update(
        broker_url="sqs://key:secret@127.0.0.1:4566",
        oms_events_url=events_url,
        event_exchange="t1-celeryev",
    )
    return app


def test_a_dispatcher_given_no_connection_uses_the_events_url_and_a_fanout_exchange():
    dispatcher = _app().events.Dispatcher(enabled=False)

    assert _where(dispatcher.connection) == "redis://127.0.0.1:6379/5"
    assert (dispatcher.exchange.name, dispatcher.exchange.type) == ("t1-celeryev", "fanout")


def test_a_receiver_given_no_connection_uses_the_events_url():
    receiver = _app().events.Receiver(handlers={})

    assert _where(receiver.connection) == "redis://127.0.0.1:6379/5"


def test_the_worker_consumer_opens_its_event_connection_to_the_events_url():
    consumer = Consumer.__new__(Consumer)  # only the method under test, no worker around it
    consumer.app = _app()
    consumer.ensure_connected = lambda connection: connection

    assert _where(consumer.connection_for_write()) == "redis://127.0.0.1:6379/5"


def test_an_unreachable_events_redis_never_fails_the_task_send():
    app = _app("redis://127.0.0.1:1/0")  # nothing listens on port 1
    task_producer = Producer(app.connection_for_write())  # lazy: no SQS call is made
    dispatcher = app.events.Dispatcher(enabled=False)

    started = time.monotonic()
    assert dispatcher.publish("task-sent", {"uuid": "t1"}, task_producer) is None

    assert time.monotonic() - started < 5


@pytest.mark.integration
def test_a_task_sent_event_published_with_the_sqs_producer_arrives_over_redis(stack):
    from workers.app import app

    wanted = str(uuid.uuid4())
    seen: list[dict] = []
    receiver = app.events.Receiver(
        events_connection(app),
        handlers={
            "task-sent": lambda event: seen.append(event) if event.get("uuid") == wanted else None
        },
    )
    listener = threading.Thread(
        target=receiver.capture,
        kwargs={"limit": None, "timeout": None, "wakeup": False},
        daemon=True,
    )
    listener.start()
    try:
        sqs_producer = Producer(app.connection_for_write())
        assert sqs_producer.connection.as_uri().startswith("sqs://")
        deadline = time.monotonic() + 15
        # The subscription starts with the receiver's first poll: publish until it hears.
        while not seen and time.monotonic() < deadline:
            app.amqp._event_dispatcher.publish(
                "task-sent", {"uuid": wanted, "name": "oms.ping"}, sqs_producer
            )
            time.sleep(0.3)
    finally:
        receiver.should_stop = True
        listener.join(timeout=10)

    assert seen, "no task-sent event reached the Redis receiver"
    assert seen[0]["name"] == "oms.ping"
