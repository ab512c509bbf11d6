"""Worker-side metrics: multiprocess files per worker, added up by the API's collector."""

import subprocess
import sys
import textwrap

from confluent_kafka import Producer

from oms.observability import metrics
from oms.observability.metrics import WorkerFilesCollector
from oms.stores import kafka
from tests.servers import ROOT


def _samples(collector) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in collector.collect()
        for sample in family.samples
        if not sample.labels
    }


def _worker_process(directory, chunk_seconds: list[float], failures: int) -> None:
    """A process that acts as a worker's pool process: multiprocess mode, then metrics."""
    code = textwrap.dedent(f"""
        from pathlib import Path
        from oms.observability import metrics
        metrics.enable_multiprocess(Path({str(directory)!r}))
        metrics.build_all()
        for seconds in {chunk_seconds!r}:
            metrics.CHUNK_SECONDS.observe(seconds)
        metrics.KAFKA_DELIVERY_FAILURES.inc({failures})
    """)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_samples_of_every_worker_directory_are_added_up(tmp_path):
    _worker_process(tmp_path / "w1@host", [0.2, 3.0], failures=1)
    _worker_process(tmp_path / "w2@host", [0.7], failures=0)

    samples = _samples(WorkerFilesCollector(tmp_path))

    assert samples["oms_chunk_seconds_count"] == 3
    assert round(samples["oms_chunk_seconds_sum"], 6) == 3.9
    assert samples["oms_kafka_delivery_failures_total"] == 1
    assert samples["oms_ims_request_seconds_count"] == 0  # built at start: present at zero


def test_a_worker_starting_again_starts_from_zero_and_a_stopped_one_leaves_the_sums(tmp_path):
    _worker_process(tmp_path / "w1@host", [1.0, 1.0], failures=0)
    _worker_process(tmp_path / "w2@host", [1.0], failures=0)

    _worker_process(tmp_path / "w1@host", [], failures=0)  # its directory is emptied first
    assert _samples(WorkerFilesCollector(tmp_path))["oms_chunk_seconds_count"] == 1

    metrics.remove_dir(tmp_path / "w2@host")
    assert _samples(WorkerFilesCollector(tmp_path))["oms_chunk_seconds_count"] == 0
    metrics.remove_dir(tmp_path / "w1@host")
    assert not tmp_path.exists()  # the deployment's directory goes with its last worker
    assert list(WorkerFilesCollector(tmp_path).collect()) == []


def test_a_kafka_delivery_failure_is_counted(monkeypatch):
    # Nothing listens on port 1: the message times out, its delivery callback reports it.
    unreachable = Producer(
        {"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 300, "log_level": 0}
    )
    monkeypatch.setattr(kafka, "producer", lambda: unreachable)
    before = _samples(metrics.KAFKA_DELIVERY_FAILURES)["oms_kafka_delivery_failures_total"]

    delivered = kafka.publish(
        [kafka.Message("t.order.created", "o-1", {"order_id": "o-1"})], timeout=5
    )

    after = _samples(metrics.KAFKA_DELIVERY_FAILURES)["oms_kafka_delivery_failures_total"]
    assert delivered == set()
    assert after - before == 1
