"""A worker goes on receiving tasks after SQS failed to answer (workers/sqs_polling.py,
the workaround for kombu's poller that stops after a failed poll)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import uuid

import pytest

from oms.config import environ
from tests import namespaces
from tests.servers import ROOT, Moto, stop

pytestmark = pytest.mark.integration


def _ping(app, value: int, timeout: float = 90) -> dict:
    """oms.ping through the broker, sent again while the broker refuses it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return app.send_task("oms.ping", args=[value]).get(timeout=20)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_the_worker_receives_tasks_after_sqs_restarted_and_lost_its_queues(base_settings):
    from workers.app import app

    moto = Moto(ROOT / ".stack" / "logs" / f"test-moto-{uuid.uuid4().hex[:6]}.log")
    moto.start()
    worker = None
    try:
        private = dataclasses.replace(base_settings, aws_endpoint_url=moto.url)
        with namespaces.namespace(private) as settings:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workers.app", "worker"]
                + ["--pool", "solo", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
                cwd=ROOT,
                env={**os.environ, **environ(settings)},
                stdout=(ROOT / ".stack" / "logs" / "test-sqs-polling-worker.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            assert _ping(app, 1) == {"pong": 1}

            moto.kill()  # SQS away: the worker's next polls fail (connection refused)
            time.sleep(3)
            moto.start()  # and back with nothing: the queues are gone too

            assert _ping(app, 2) == {"pong": 2}
            assert worker.poll() is None
            from oms.stores import s3

            s3.ensure_bucket()  # lost with moto's state; the namespace drops it
    finally:
        if worker is not None:
            stop(worker)
        moto.kill()
