"""Small versions of `make chaos` (benchmarks/chaos.py): an upload under a fault ends as a
clean run would. The long versions (100k rows, ten kill points, 30 s outages, moto
restarted) are run and reported in RELIABILITY.md."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from oms.config import load_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import chaos  # noqa: E402

pytestmark = pytest.mark.integration

# Short timeouts so a killed worker's messages come back within seconds.
FAST = {"sqs_visibility_timeout_s": 15, "task_time_limit_s": 12}
SCENARIOS = [
    ("worker killed after 3 chunks", chaos.kill_worker_at(chaos.chunks_done(3), "3 chunks")),
    ("worker killed between insert and publish", chaos.crash_at("chunk.after_insert", 4)),
    ("worker killed while finalizing", chaos.crash_at("finalize.after_join")),
    ("pool children killed after 2 chunks", chaos.kill_pool_at(chaos.chunks_done(2))),
    ("pool child killed between insert and publish", chaos.crash_at("chunk.after_insert", 3, True)),
    ("PostgreSQL (the store) stopped 5 s", chaos.stop_server("postgres", 5, chaos.chunks_done(2))),
    ("Kafka stopped 5 s", chaos.stop_server("kafka", 5, chaos.chunks_done(2))),
    ("IMS answering 500 for 5 s", chaos.ims_fault(500, 5)),
    ("moto restarted, its state lost", chaos.restart_moto(chaos.chunks_done(4))),
]


@pytest.mark.parametrize(("name", "scenario"), SCENARIOS, ids=[n for n, _ in SCENARIOS])
def test_an_upload_under_a_fault_ends_as_a_clean_run(name, scenario, stack, tmp_path):
    base = load_settings({**os.environ, "OMS_LOG_LEVEL": "WARNING"})

    result = chaos.run(name, scenario, base, 2_000, tmp_path, **FAST)

    assert result["ok"], result
    assert result["orders_duplicated"] == 0 and result["orders_without_event"] == 0
    assert result["events_distinct"] == result["orders_stored"] == result["orders_expected"]
