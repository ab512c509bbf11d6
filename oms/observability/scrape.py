"""What ``GET /metrics`` answers, in Prometheus text format.

- ``oms_uploads{status}`` and ``oms_rows_total{outcome}``: read from MongoDB at each scrape
  (one small document per upload, the same counters as ``GET /stats``);
- ``oms_orders{status}``: orders by status (the same counts as ``GET /stats``);
- ``oms_finalizer_lag{partition}``: order.created events the finalizer has not done yet;
- ``oms_dead_letters``: task messages parked in the dead-letter queue;
- ``oms_chunk_seconds``, ``oms_chunk_stage_seconds{stage}``, ``oms_ims_request_seconds``,
  ``oms_kafka_delivery_failures_total``: measured in the worker processes, read from their
  files (oms/observability/metrics.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from oms.config import Settings
from oms.errors import Unavailable
from oms.observability.metrics import WorkerFilesCollector, deployment_dir
from oms.stats import current_stats

log = logging.getLogger(__name__)

# What generate_latest writes, as prometheus_client's own servers label it by default.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class UploadCountsCollector:
    """Uploads by status and rows by outcome, from the upload documents in MongoDB."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("oms_mongo_up", "1 if MongoDB answered this scrape")
        try:
            stats = current_stats()
        except Unavailable as exc:
            log.warning("metrics: MongoDB did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        uploads = GaugeMetricFamily("oms_uploads", "Uploads by status", labels=["status"])
        for status, count in sorted(stats["uploads"]["by_status"].items()):
            uploads.add_metric([status], count)
        yield uploads
        rows = CounterMetricFamily(
            "oms_rows",
            "Rows of finished chunks by outcome; processed = valid + invalid, "
            "duplicate is the part of invalid whose order_id was already used",
            labels=["outcome"],
        )
        for outcome in ("valid", "invalid", "duplicate"):
            rows.add_metric([outcome], stats["rows"][outcome])
        yield rows
        orders = GaugeMetricFamily("oms_orders", "Orders by status", labels=["status"])
        for status, count in sorted(stats["orders"]["by_status"].items()):
            orders.add_metric([status], count)
        yield orders


class FinalizerLagCollector:
    """order.created messages the finalizer group has not committed, per partition: how
    far order finalization is behind ingestion."""

    def collect(self) -> Iterator[Metric]:  # prometheus_client's collector protocol
        from oms.orders.finalizer import lag

        gauge = GaugeMetricFamily(
            "oms_finalizer_lag",
            "order.created events not yet "
            "finalized (committed by the finalizer group), by partition",
            labels=["partition"],
        )
        try:
            behind = lag()
        except Unavailable as exc:
            log.warning("metrics: Kafka did not answer: %s", exc)
            return
        for partition, count in sorted(behind.items()):
            gauge.add_metric([str(partition)], count)
        yield gauge


class DeadLettersCollector:
    """Task messages parked in the dead-letter queue (received too often, never done)."""

    def collect(self) -> Iterator[Metric]:  # prometheus_client's collector protocol
        from oms.stores import sqs

        gauge = GaugeMetricFamily("oms_dead_letters", "Task messages in the dead-letter queue")
        try:
            gauge.add_metric([], sqs.dead_letters())
        except Unavailable as exc:
            log.warning("metrics: SQS did not answer: %s", exc)
            return
        yield gauge


def render(settings: Settings) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(UploadCountsCollector())
    registry.register(DeadLettersCollector())
    registry.register(FinalizerLagCollector())
    registry.register(WorkerFilesCollector(deployment_dir(settings)))
    return generate_latest(registry)
