"""Celery over SQS (moto) with results in Redis, through a real worker process."""

import pytest
from celery import chord

from workers.diagnostics import add, collect, ping

pytestmark = pytest.mark.integration


def test_task_round_trip_over_sqs_returns_result_from_redis(worker):
    result = ping.delay(42)

    assert result.get(timeout=60) == {"pong": 42}
    assert result.backend.__class__.__name__ == "RedisBackend"


def test_chord_of_twenty_tasks_gives_the_body_every_result(worker):
    header = [add.s(i, 1000) for i in range(20)]

    outcome = chord(header)(collect.s()).get(timeout=120)

    assert outcome["count"] == 20
    assert outcome["values"] == [1000 + i for i in range(20)]
    assert outcome["total"] == sum(1000 + i for i in range(20))
