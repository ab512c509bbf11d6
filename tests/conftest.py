"""Fixtures for tests that talk to the real local stack (`make stack`).

Each test module gets its own namespace (bucket, queue prefix, database, topic prefix;
``tests/namespaces.py``), created before its first test and dropped after its last, so
no module sees another's data; ``fresh_settings`` gives one test a namespace of its own.
The stack's addresses come from the environment (the local stack's defaults, or
docker-compose's variables); only the namespace names are the tests' own. Workers and
API servers started for a module run in its namespace.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from devstack import postgres
from oms.config import Settings, environ, load_settings
from tests import namespaces
from tests.servers import ROOT, free_port, gunicorn, stop

RUN_ID = uuid.uuid4().hex[:8]

IMS_PORT = free_port()
IMS_TEST_DATABASE = f"ims_test_{RUN_ID}"
IMS_SERVICE_KEY = f"ims-test-{RUN_ID}"

# The session's reference IMS: its own PostgreSQL database (created by ims_service), a
# service key, and fault injection (tests make it fail on purpose).
IMS_ENV = {
    "IMS_POSTGRES_URL": postgres.url(IMS_TEST_DATABASE),
    "PGPASSWORD": postgres.password(),
    "IMS_SERVICE_KEYS": IMS_SERVICE_KEY,
    "IMS_FAULTS": "on",
}

# OMS settings every test namespace starts from, on top of the environment's.
OMS_TEST_ENV = {
    "OMS_LOG_LEVEL": "INFO",
    "OMS_IMS_URL": f"http://127.0.0.1:{IMS_PORT}",
    "OMS_IMS_SERVICE_KEY": IMS_SERVICE_KEY,
    "OMS_TASK_MAX_RETRIES": "3",
    # Tests make many-chunk uploads of a few rows; the floor has its own test.
    "OMS_MIN_CHUNK_ROWS": "1",
    # Every chunk asks IMS, so injected IMS faults hit the chunks they target. The cache
    # itself is tested in tests/stores/test_ims_client.py.
    "OMS_IMS_CACHE_TTL": "0",
    # Tests read /stats right after what they count; the copy has its own test
    # (tests/test_stats_copy.py).
    "OMS_STATS_MAX_AGE": "0",
}


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
def base_settings(stack) -> Settings:
    """The stack as the environment describes it, with the test IMS."""
    return load_settings({**os.environ, **OMS_TEST_ENV})


@pytest.fixture(scope="module")
def settings(base_settings) -> Iterator[Settings]:
    """This module's namespace, configured in this process."""
    with namespaces.namespace(base_settings) as module_settings:
        yield module_settings


@pytest.fixture
def fresh_settings(settings) -> Iterator[Settings]:
    """A namespace for one test alone (store only: the module's worker does not see it)."""
    with namespaces.namespace(settings) as test_settings:
        yield test_settings


def child_env(settings: Settings) -> dict[str, str]:
    """The environment of a process (worker, API server) working in ``settings``."""
    return {**os.environ, **environ(settings)}


def worker_name(settings: Settings) -> str:
    """The Celery node name (before ``@host``) of the module's worker."""
    return settings.sqs_queue_prefix.rstrip("-")


def worker_log(settings: Settings):
    return ROOT / ".stack" / "logs" / f"test-worker-{worker_name(settings)}.log"


@pytest.fixture(scope="module")
def worker(settings):
    """A real Celery worker process (prefork, 2 children) on this module's queues."""
    name = worker_name(settings)
    log = worker_log(settings)
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.app",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"{name}@%h",
        ],
        cwd=ROOT,
        env=child_env(settings),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
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
        with gunicorn("ims.wsgi:app", log, port=IMS_PORT, env=IMS_ENV) as (url, _):
            yield url
    finally:
        drop_database(IMS_TEST_DATABASE)


@pytest.fixture(scope="module")
def pipeline(worker, ims_service):
    """Everything an upload needs: stack, IMS, a worker."""
    return worker


@pytest.fixture(scope="module")
def api(settings):
    """The OMS API (Flask test client of the real app, talking to the real stack)."""
    from oms.api.app import create_app

    return create_app(settings).test_client()


@pytest.fixture(scope="module")
def api_server(pipeline, settings):
    """The OMS API served by gunicorn over real HTTP (for the CLI and browser tests),
    with a worker and IMS behind it, in this module's namespace. Yields its base URL."""
    log = ROOT / ".stack" / "logs" / f"test-api-{settings.sqs_queue_prefix.rstrip('-')}.log"
    with gunicorn("oms.api.wsgi:app", log, env=environ(settings)) as (url, _):
        yield url
