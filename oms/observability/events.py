"""Celery's monitoring events over Redis, while tasks keep flowing through SQS.

Over SQS the events reach no one: Celery's event exchange is a topic exchange and kombu's
SQS transport keeps bindings per connection (docs/architecture.md, "Celery on SQS").
So every event goes through a connection to ``oms_events_url`` (celeryconfig, from
OMS_EVENTS_URL; Redis), and Flower reads them there (``celery flower -b <that URL>``):

- the worker's Events bootstep takes its connection from the consumer's
  ``connection_for_write`` (its only caller): :class:`Consumer` (``worker_consumer``)
  points it at the events URL;
- Celery publishes ``task-sent`` through the producer that sent the task, an SQS one:
  :class:`EventDispatcher` (``app.events.Dispatcher``) publishes it on its own events
  connection instead, and a monitoring failure never fails the task send;
- any other ``app.events`` user that brings no connection gets the events URL too.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery
from celery.app import app_or_default
from celery.app.events import Events as CeleryEvents
from celery.events.dispatcher import EventDispatcher as CeleryEventDispatcher
from celery.events.event import Event
from celery.events.receiver import EventReceiver as CeleryEventReceiver
from celery.worker.consumer import Consumer as CeleryConsumer
from kombu import Connection, Producer
from kombu.transport.base import StdChannel

log = logging.getLogger(__name__)

SETTING = "oms_events_url"  # OMS's own Celery setting; unset = the task broker

# A task-sent event must not hold up the send of its task for long.
SENT_EVENT_RETRY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}


def events_connection(app: Celery) -> Connection:
    """A new, lazy connection to where the app's events go."""
    return app.connection_for_write(url=app.conf.get(SETTING) or None)


class EventDispatcher(CeleryEventDispatcher):
    """Celery's dispatcher, on the events connection when it is given none."""

    def __init__(
        self,
        connection: Connection | None = None,
        hostname: str | None = None,
        enabled: bool = True,
        channel: StdChannel | None = None,
        buffer_while_offline: bool | None = None,
        **kwargs: Any,
    ) -> None:
        own_connection = connection is None and channel is None
        if own_connection:
            connection = events_connection(app_or_default(kwargs.get("app") or self.app))
        if buffer_while_offline is None:
            # Celery's own use without a connection is amqp's task-sent dispatcher, whose
            # buffer nobody flushes: raise instead (caught in publish) of hoarding events.
            buffer_while_offline = not own_connection
        super().__init__(connection, hostname, enabled, channel, buffer_while_offline, **kwargs)
        self._events_uri = self.connection.as_uri()
        self._own_lock = threading.Lock()
        self._own: tuple[int, Producer] | None = None

    def publish(
        self,
        type: str,
        fields: dict[str, Any],
        producer: Producer | None,
        blind: bool = False,
        Event: Callable[..., dict[str, Any]] = Event,
        **kwargs: Any,
    ) -> None:
        if producer is None or producer.connection.as_uri() == self._events_uri:
            return super().publish(type, fields, producer, blind=blind, Event=Event, **kwargs)
        # The producer that sent a task (task-sent): the event would be lost there.
        try:
            return super().publish(
                type,
                fields,
                self._events_producer(),
                blind=blind,
                Event=Event,
                retry=True,
                retry_policy=SENT_EVENT_RETRY,
            )
        except Exception as exc:  # noqa: BLE001 - monitoring must never fail a task send
            log.warning("could not send the %s event to %s: %s", type, self._events_uri, exc)
            return None

    def _events_producer(self) -> Producer:
        """This process's producer on the events connection (a forked child opens its own)."""
        with self._own_lock:
            if self._own is None or self._own[0] != os.getpid():
                producer = Producer(
                    self.connection.clone(),
                    exchange=self.exchange,
                    serializer=self.serializer,
                    auto_declare=False,
                )
                self._own = (os.getpid(), producer)
            return self._own[1]


class EventReceiver(CeleryEventReceiver):
    """Celery's receiver, on the events connection when it is given none."""

    def __init__(
        self, channel: Connection | StdChannel | None = None, *args: Any, **kwargs: Any
    ) -> None:
        if channel is None:
            channel = events_connection(app_or_default(kwargs.get("app") or self.app))
        super().__init__(channel, *args, **kwargs)


class Events(CeleryEvents):
    """``app.events`` (``Celery(events=...)``): dispatchers and receivers default to the
    events connection."""

    dispatcher_cls = "oms.observability.events:EventDispatcher"
    receiver_cls = "oms.observability.events:EventReceiver"

    @contextmanager
    def default_dispatcher(
        self, hostname: str | None = None, enabled: bool = True, buffer_while_offline: bool = False
    ) -> Iterator[EventDispatcher]:
        """For ``Task.send_event``; Celery's would use the task producer pool (SQS)."""
        with (
            events_connection(self.app) as connection,
            self.Dispatcher(
                connection, hostname, enabled, buffer_while_offline=buffer_while_offline
            ) as dispatcher,
        ):
            yield dispatcher


class Consumer(CeleryConsumer):
    """The worker's consumer (``worker_consumer``): its Events bootstep, the only caller
    of ``connection_for_write``, sends worker and task events to the events URL."""

    def connection_for_write(
        self, url: str | None = None, heartbeat: float | None = None
    ) -> Connection:
        return super().connection_for_write(
            url=url or self.app.conf.get(SETTING) or None, heartbeat=heartbeat
        )
