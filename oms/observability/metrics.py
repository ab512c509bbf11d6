"""Prometheus metrics measured inside worker processes, and how they are collected.

A Celery worker is several processes (prefork), so the samples use prometheus_client's
multiprocess mode: each process writes its own files in a directory, and a collector
adds them up. Each worker instance owns one directory,
``OMS_METRICS_DIR/<queue prefix>/<worker node name>``: emptied when the worker starts,
removed when it stops. The API's ``GET /metrics`` reads every worker directory of its
deployment (oms/api/metrics.py), so the API and the workers must share OMS_METRICS_DIR:
the same host, or a shared volume.

Use a metric as a module attribute (``metrics.CHUNK_SECONDS.observe(s)``). Each is built
on first use, so a worker process builds it after :func:`enable_multiprocess` chose the
file-backed values (prometheus_client chooses at construction).
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client import Counter, Histogram, values
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from oms.config import Settings

log = logging.getLogger(__name__)

_DEFINITIONS: dict[str, Callable[[], object]] = {
    "CHUNK_SECONDS": lambda: Histogram(
        "oms_chunk_seconds",
        "Time to process one chunk, from its start to its counts stored (chunks that finished)",
        registry=None,
        buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 900),
    ),
    "CHUNK_STAGE_SECONDS": lambda: Histogram(
        "oms_chunk_stage_seconds",
        "Time one chunk spent in a stage (fetch, parse, validate, ims, insert, publish, "
        "invalid_part), chunks that finished",
        ["stage"],
        registry=None,
        buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    ),
    "IMS_REQUEST_SECONDS": lambda: Histogram(
        "oms_ims_request_seconds",
        "Latency of one IMS validate call (failed ones too)",
        registry=None,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    ),
    "KAFKA_DELIVERY_FAILURES": lambda: Counter(
        "oms_kafka_delivery_failures",
        "Order events Kafka reported as not delivered (their work is retried and republishes them)",
        registry=None,
    ),
}
_built: dict[str, object] = {}
_lock = threading.Lock()

# The types of the attributes that __getattr__ builds, for type checkers.
CHUNK_SECONDS: Histogram
CHUNK_STAGE_SECONDS: Histogram
IMS_REQUEST_SECONDS: Histogram
KAFKA_DELIVERY_FAILURES: Counter


def __getattr__(name: str) -> object:
    if name not in _DEFINITIONS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _lock:
        if name not in _built:
            _built[name] = _DEFINITIONS[name]()
        return _built[name]


def build_all() -> None:
    """Build every metric now, so each appears (at zero) before its first event."""
    for name in _DEFINITIONS:
        __getattr__(name)


def deployment_dir(settings: Settings) -> Path:
    """Where the workers of this deployment (its queue prefix) keep their directories."""
    return Path(settings.metrics_dir) / (settings.sqs_queue_prefix.strip("-_.") or "default")


def worker_dir(settings: Settings, nodename: str) -> Path:
    return deployment_dir(settings) / re.sub(r"[^A-Za-z0-9_.@-]", "_", nodename)


def enable_multiprocess(directory: Path) -> None:
    """Make this process and its future children write samples as files in ``directory``,
    emptied first. Call in the worker's main process before the pool starts."""
    if _built:
        log.warning(
            "metrics %s were used before multiprocess mode: they stay in-process", sorted(_built)
        )
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    # prometheus_client reads the directory from the environment (also in forked children).
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.MultiProcessValue()


def mark_process_dead(pid: int) -> None:
    """A pool process ended: drop its live-gauge files (counters and histograms stay)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        prometheus_multiprocess.mark_process_dead(pid, directory)


def remove_dir(directory: Path) -> None:
    """The worker stopped: its samples leave the sums (counters restart from zero)."""
    shutil.rmtree(directory, ignore_errors=True)
    try:
        directory.parent.rmdir()  # the deployment's, once its last worker is gone
    except OSError:
        pass


class WorkerFilesCollector:
    """Every worker directory of a deployment, added up as one set of metrics."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def collect(self) -> Iterable[Metric]:
        for _ in range(3):
            files = glob.glob(str(self.root / "*" / "*.db"))
            try:
                return MultiProcessCollector.merge(files, accumulate=True)
            except FileNotFoundError:  # a worker stopped meanwhile: read the others again
                continue
        return []
