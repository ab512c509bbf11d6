"""Fixtures for tests that talk to the real local stack (`make stack`).

Every test session gets its own bucket, queue prefix, database and topic prefix, so runs
never see each other's data; they are removed at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from devstack import postgres
from tests.servers import ROOT, free_port, gunicorn, stop

RUN_ID = uuid.uuid4().hex[:8]


IMS_PORT = free_port()
API_PORT = free_port()
IMS_TEST_DATABASE = f"ims_test_{RUN_ID}"
IMS_SERVICE_KEY = f"ims-test-{RUN_ID}"

# Set before any oms module reads the settings (they are read once per process).
TEST_ENV = {
    "OMS_S3_BUCKET": f"oms-test-{RUN_ID}",
    "OMS_SQS_QUEUE_PREFIX": f"t{RUN_ID}-",
    "OMS_MONGO_DB": f"oms_test_{RUN_ID}",
    "OMS_KAFKA_TOPIC_PREFIX": f"t{RUN_ID}.",
    "OMS_LOG_LEVEL": "INFO",
    "OMS_IMS_URL": f"http://127.0.0.1:{IMS_PORT}",
    "OMS_TASK_MAX_RETRIES": "3",
    # Every chunk asks IMS, so injected IMS faults hit the chunks they target. The cache
    # itself is tested in tests/stores/test_ims_client.py.
    "OMS_IMS_CACHE_TTL": "0",
    # The session's reference IMS: its own PostgreSQL database (created by ims_service)
    # and a service key, which OMS will send as OMS_IMS_SERVICE_KEY.
    "IMS_POSTGRES_URL": postgres.url(IMS_TEST_DATABASE),
    "PGPASSWORD": postgres.password(),
    "IMS_SERVICE_KEYS": IMS_SERVICE_KEY,
    "OMS_IMS_SERVICE_KEY": IMS_SERVICE_KEY,
    "IMS_FAULTS": "on",
}
os.environ.update(TEST_ENV)


def _stack_problems() -> list[str]:
    from devstack import processes
    from devstack.services import INFRA

    return [f"{s.name}: {reason}" for s in INFRA if (reason := processes.healthy(s))]


@pytest.fixture(scope="session")
def stack() -> None:
    """The real local stack must be up; `make test` starts it."""
    problems = _stack_problems()
    if problems:
        pytest.fail("local stack is not up (run `make stack`): " + "; ".join(problems))


@pytest.fixture(scope="session")
def settings(stack):
    from oms.config import get_settings
    from oms.stores import mongo, s3

    settings = get_settings()
    s3.ensure_bucket()
    mongo.ensure_indexes()
    yield settings
    _cleanup(settings)


def _cleanup(settings) -> None:
    import boto3

    from oms.stores import mongo, s3

    mongo.client().drop_database(settings.mongo_db)
    bucket = s3.client()
    for obj in s3.list_keys(""):
        bucket.delete_object(Bucket=settings.s3_bucket, Key=obj["Key"])
    bucket.delete_bucket(Bucket=settings.s3_bucket)
    sqs = boto3.client("sqs", endpoint_url=settings.aws_endpoint_url,
                       region_name=settings.aws_region,
                       aws_access_key_id=settings.aws_access_key_id,
                       aws_secret_access_key=settings.aws_secret_access_key)
    for url in sqs.list_queues(QueueNamePrefix=settings.sqs_queue_prefix).get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap, "log_level": 0})
    topics = [t for t in admin.list_topics(timeout=10).topics
              if t.startswith(settings.kafka_topic_prefix)]
    if topics:
        for future in admin.delete_topics(topics).values():
            future.result(timeout=30)


@pytest.fixture(scope="session")
def worker(settings):
    """A real Celery worker process (prefork, 2 children) on this session's queues."""
    log = ROOT / ".stack" / "logs" / f"test-worker-{RUN_ID}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "--pool", "prefork",
         "--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
         "--hostname", f"test-{RUN_ID}@%h"],
        cwd=ROOT, env={**os.environ}, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    from workers.diagnostics import ping

    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"celery worker exited with {process.returncode}; see {log}")
            try:
                assert ping.delay(1).get(timeout=5) == {"pong": 1}
                break
            except Exception:  # noqa: BLE001  (not up yet: keep asking until the deadline)
                if time.monotonic() > deadline:
                    pytest.fail(f"celery worker did not answer within 60s; see {log}")
        yield process
    finally:
        stop(process)


@pytest.fixture(scope="session")
def ims_service(stack):
    """The reference IMS on its own port and database, as a real HTTP server."""
    from tests.ims.support import drop_database

    postgres.ensure_database(IMS_TEST_DATABASE)
    log = ROOT / ".stack" / "logs" / f"test-ims-{RUN_ID}.log"
    try:
        with gunicorn("ims.wsgi:app", log, port=IMS_PORT) as (url, _):
            yield url
    finally:
        drop_database(IMS_TEST_DATABASE)


@pytest.fixture(scope="session")
def pipeline(worker, ims_service):
    """Everything an upload needs: stack, IMS, a worker."""
    return worker


@pytest.fixture(scope="session")
def api(settings):
    """The OMS API (Flask test client of the real app, talking to the real stack)."""
    from oms.api.app import create_app

    return create_app().test_client()


@pytest.fixture(scope="session")
def api_server(pipeline):
    """The OMS API served by gunicorn over real HTTP (for the CLI and browser tests),
    with a worker and IMS behind it. Yields its base URL."""
    log = ROOT / ".stack" / "logs" / f"test-api-{RUN_ID}.log"
    with gunicorn("oms.api.wsgi:app", log, port=API_PORT) as (url, _):
        yield url
