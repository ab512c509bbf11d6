"""The one retry policy of every task: what is transient, how long to wait, when to stop.

Transient means an external system did not answer properly: the stores translate that
into ``Unavailable`` at their border (``oms.stores``); ``ConnectionError`` and
``TimeoutError`` cover what a library raises directly; a task over its soft time limit
is retried too. Anything else is a bug or bad
data and is never retried. Waits grow exponentially with equal jitter and stay well below
the SQS visibility timeout (a retry is a new message with a delay, but the cap keeps a
message from ever outliving its visibility). After ``OMS_TASK_MAX_RETRIES`` retries the
task records what failed where an operator sees it, so ``retry`` applies.
"""

from __future__ import annotations

import random

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from oms.config import get_settings
from oms.errors import Unavailable

# SoftTimeLimitExceeded: the task ran too long, most likely waiting on a dependency; its
# retry starts afresh (the hard limit, later, would kill the process instead).
TRANSIENT = (Unavailable, ConnectionError, TimeoutError, SoftTimeLimitExceeded)
BASE_S = 2.0


def cap_s() -> float:
    """The longest wait: a third of the visibility timeout, at most 60 s."""
    return min(60.0, get_settings().sqs_visibility_timeout_s / 3)


def backoff(retries: int) -> float:
    """Exponential backoff with equal jitter: half of min(cap, BASE_S * 2**retries) plus up
    to as much again, so the retries of one task spread over a minute or two (an outage of
    30 s is outlived) while tasks that failed together do not retry together."""
    ceiling = min(cap_s(), BASE_S * 2**retries)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def may_retry(task: Task) -> bool:
    return int(task.request.retries) < get_settings().task_max_retries


def attempts(task: Task) -> int:
    return int(task.request.retries) + 1
