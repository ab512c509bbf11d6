"""Generated hostile files (tests/pipeline/fuzz_files.py) through the whole pipeline:
each ends completed or refused with a precise reason, and the worker survives them.
`benchmarks/fuzz.py` runs 10,000 of them (RELIABILITY.md)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from tests.conftest import worker_log
from tests.pipeline.fuzz_check import outcome_of
from tests.pipeline.fuzz_files import order_file

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def outcomes():
    return []


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(data=order_file())
def test_a_hostile_file_ends_completed_or_refused_with_the_reason(api, pipeline, outcomes, data):
    outcomes.append(outcome_of(api, data))


def test_the_worker_survived_every_file(pipeline, settings, outcomes):
    assert len(outcomes) == 40
    assert pipeline.poll() is None  # the worker's main process is alive
    log = worker_log(settings).read_text()
    assert "WorkerLostError" not in log and "Process 'ForkPoolWorker" not in log
    assert {o["outcome"] for o in outcomes} >= {"refused", "completed"}
