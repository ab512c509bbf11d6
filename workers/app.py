"""The Celery app, configured from celeryconfig.py, and the worker's process hooks."""

from contextvars import Token
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.signals import (
    celeryd_init,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_shutdown,
)

import celeryconfig
from oms.config import Settings, configure, get_settings
from oms.observability import logging as json_logging
from oms.observability import metrics
from workers import sqs_polling

sqs_polling.install()  # kombu's SQS poller survives failed polls (see the module)

# app.events sends and reads monitoring events over Redis (see oms/observability/events.py).
app = Celery(
    "oms",
    include=["workers.tasks", "workers.webhook_tasks", "workers.diagnostics"],
    events="oms.observability.events:Events",
)


def init_celery(settings: Settings | None = None) -> Celery:
    """Configure the app for ``settings`` (default: the process's); they become the
    process's settings. Connections made for earlier settings are dropped."""
    if settings is not None:
        configure(settings)
    app.conf.update(celeryconfig.build(get_settings()))
    # Celery keeps a connection pool and a producer pool built from the broker settings
    # it first saw; the next use builds them again from the new ones.
    app._pool = None
    app.amqp._producer_pool = None
    app.amqp.__dict__.pop("_event_dispatcher", None)  # a cached_property: its exchange
    return app


init_celery()

# Task parameters that become fields of every log line the task writes.
TASK_LOG_FIELDS = {"upload_id": "upload_id", "index": "chunk"}

_metrics_dir: list[Path] = []
_log_tokens: dict[str, Token[Any]] = {}


@worker_init.connect
def _prepare_stores(**_: Any) -> None:
    """The unique order_id index is what makes a re-run chunk harmless: make sure it
    exists before the first task runs, whichever process started first."""
    from oms.stores import mongo, s3, sqs

    mongo.ensure_indexes()
    s3.ensure_bucket()
    sqs.ensure_dead_letters()


@setup_logging.connect
def _json_logs(loglevel: str | int | None = None, logfile: str | None = None, **_: Any) -> None:
    """Celery's own lines and OMS's, in every worker process, as JSON (replaces Celery's
    logging set-up)."""
    stream = open(logfile, "a", buffering=1) if logfile else None  # noqa: SIM115
    json_logging.configure_logging(loglevel or get_settings().log_level, stream)


@celeryd_init.connect
def _metrics_files(sender: str, **_: Any) -> None:
    """Before the pool forks: pool processes write their samples under this node's
    directory, emptied now (see oms/observability/metrics.py)."""
    directory = metrics.worker_dir(get_settings(), sender)
    metrics.enable_multiprocess(directory)
    _metrics_dir.append(directory)


@worker_process_init.connect
def _pool_process_metrics(**_: Any) -> None:
    """Every metric present (at zero) from the start, in this pool process's files."""
    metrics.build_all()


@worker_process_shutdown.connect
def _pool_process_ended(pid: int, **_: Any) -> None:
    metrics.mark_process_dead(pid)


@worker_shutdown.connect
def _drop_metrics_files(**_: Any) -> None:
    for directory in _metrics_dir:
        metrics.remove_dir(directory)


@task_prerun.connect
def _bind_task_log_fields(
    task_id: str,
    task: Task,
    args: tuple[Any, ...] | None,
    kwargs: dict[str, Any] | None,
    **_: Any,
) -> None:
    fields = json_logging.fields_of_call(task.run, args or (), kwargs or {}, TASK_LOG_FIELDS)
    if fields:
        _log_tokens[task_id] = json_logging.bind(**fields)


@task_postrun.connect
def _unbind_task_log_fields(task_id: str, **_: Any) -> None:
    token = _log_tokens.pop(task_id, None)
    if token is not None:
        json_logging.unbind(token)
