"""GET /stats answers from a copy of the counters at most OMS_STATS_MAX_AGE seconds old
(one store read per process and period, however many clients ask)."""

from __future__ import annotations

import time

import pytest

from oms import stats_counters
from oms.stats import current_stats
from tests.namespaces import changed

pytestmark = pytest.mark.integration


def test_stats_are_read_again_once_the_copy_is_older_than_the_max_age(fresh_settings):
    with changed(fresh_settings, stats_max_age_s=0.5):
        assert current_stats()["uploads"]["by_status"]["completed"] == 0
        stats_counters.add({"uploads.completed": 3})

        within = current_stats()  # the copy: the change is not read yet
        time.sleep(0.6)
        after = current_stats()

    assert within["uploads"]["by_status"]["completed"] == 0
    assert after["uploads"]["by_status"]["completed"] == 3
    assert after["uploads"]["total"] == 3


def test_with_max_age_zero_every_request_reads_the_counters(fresh_settings):
    with changed(fresh_settings, stats_max_age_s=0):
        current_stats()
        stats_counters.add({"uploads.failed": 2})
        assert current_stats()["uploads"]["by_status"]["failed"] == 2


def test_a_copy_of_another_database_is_never_served(fresh_settings, settings):
    """Two deployments in one process (tests do this): each reads its own counters."""
    with changed(fresh_settings, stats_max_age_s=60):
        stats_counters.add({"uploads.rejected": 1})
        assert current_stats()["uploads"]["by_status"]["rejected"] == 1
    with changed(settings, stats_max_age_s=60):
        assert current_stats()["uploads"]["by_status"]["rejected"] == 0
