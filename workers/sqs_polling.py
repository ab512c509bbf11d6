"""A worker keeps polling SQS after SQS failed to answer.

Workaround for a defect of kombu 5.7.0's SQS transport (celery/kombu#1127, "SQS backend
will stop consuming tasks after failures", open): each queue is polled by a chain of
promises, ``_schedule_queue`` → ``receive_message`` → ``_on_messages_ready`` →
``_loop1`` → ``_schedule_queue``. Two answers break the chain, and the worker then stays
up, connected and deaf, forever:

- a timeout or 5xx (SQS or moto restarting, a connection refused):
  ``AsyncSQSConnection._on_list_ready`` returns ``[]`` for it (kombu#1064) and
  ``_on_messages_ready`` calls ``[].get("Messages")``: AttributeError;
- a 4xx (the queue is gone, as when moto restarted and lost its state):
  ``_on_list_ready`` raises, nothing in the chain handles it, and the error reaches the
  event loop: a prefork worker logs "Error in timer" and stops polling, a solo worker
  stops ("Unrecoverable error");
- SQS not answering when the queue's URL is resolved: the same.

Measured on the local stack (benchmarks/chaos.py, "moto restarted"): without this the
worker logged the AttributeError once and received nothing more; the upload never ended.
With it, a failed poll counts as an empty one, the queue's URL is resolved again (kombu
creates the queue when it is gone) and polling goes on after the polling interval.
tests/workers/test_sqs_polling.py fails without it.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from kombu.transport.SQS import Channel
from vine import promise, transform

log = logging.getLogger(__name__)

_original_on_messages_ready = Channel._on_messages_ready


def _on_messages_ready(self: Channel, queue: str, qname: str, messages: Any) -> int:
    if not isinstance(messages, dict):  # kombu's "[]" for a timeout or 5xx: none received
        return 0
    return int(_original_on_messages_ready(self, queue, qname, messages))


def _schedule_queue(self: Channel, queue: str) -> None:
    """kombu's, with a poll that fails handed to ``_poll_failed``, not to the event loop
    (where it ends the poll chain, or the whole worker: "Unrecoverable error")."""
    if queue not in self._active_queues:
        return
    if not self.qos.can_consume():
        self._loop1(queue)
        return
    try:
        self._get_bulk_async(
            queue, callback=promise(self._loop1, (queue,), on_error=partial(_poll_failed, self))
        )
    except (BotoCoreError, ClientError) as exc:  # resolving the queue's URL failed
        _poll_failed(self, queue, exc)


def _get_async(self: Channel, queue: str, count: int = 1, callback: Any = None) -> Any:
    """kombu's, with an on_error on the promise that receives SQS's answer: a failed
    answer (``_on_list_ready`` raised) goes to ``_poll_failed`` instead of being raised
    into the event loop (vine's ``transform`` does not pass it on to ``callback``)."""
    queue_url = self._new_queue(queue)
    qname = self.canonical_queue_name(queue)
    ready = transform(self._on_messages_ready, callback, queue_url, queue)
    ready.on_error = lambda *args: _poll_failed(self, queue, args[-1])
    return self._get_from_sqs(
        queue_name=qname,
        queue_url=queue_url,
        count=count,
        connection=self.asynsqs(queue=qname),
        callback=ready,
    )


def _poll_failed(self: Channel, queue: str, exc: BaseException) -> None:
    log.warning("polling SQS queue %s failed (%s); polling again", queue, exc)
    self._queue_cache.pop(self.canonical_queue_name(queue), None)  # resolved (or made) again
    self._loop1(queue)


def install() -> None:
    """Patch kombu's SQS Channel (idempotent)."""
    Channel._on_messages_ready = _on_messages_ready  # type: ignore[method-assign]
    Channel._schedule_queue = _schedule_queue  # type: ignore[method-assign]
    Channel._get_async = _get_async  # type: ignore[method-assign]
