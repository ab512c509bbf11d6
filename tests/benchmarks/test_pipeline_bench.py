"""Small versions of `make bench`'s parts (benchmarks/references.py, procstats.py): each
reference handles every row of the file once and leaves nothing behind; the process
watch sees a process's memory and CPU. The full runs (100k and 1M rows) are reported in
BENCHMARKS.md."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from oms.config import environ
from oms.stores import mongo
from tests.pipeline.helpers import read_topic

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import pipeline_bench  # noqa: E402
import procstats  # noqa: E402
import references  # noqa: E402

pytestmark = pytest.mark.integration

ROWS = 1_200
CHUNK_ROWS = 500


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    path, expected, _prefix = pipeline_bench.generate(ROWS, tmp_path_factory.mktemp("bench"))
    return path, expected


def test_parse_validate_reads_every_row_once_over_two_processes(generated, settings):
    path, expected = generated

    result = references.parse_validate(path, CHUNK_ROWS, 2, environ(settings))

    assert result["rows"] == expected["rows"]


def test_bulk_load_stores_each_schema_valid_order_once_and_drops_its_collection(
    generated, settings
):
    path, expected = generated
    # Rows refused only by IMS (unknown SKU or hub) pass the schema: the load stores them.
    by_rule = expected["invalid_by_rule"]
    schema_valid = expected["valid"] + by_rule.get("sku_unknown", 0) + by_rule["hub_id_unknown"]

    result = references.bulk_load(path, CHUNK_ROWS, 2, environ(settings))

    assert result["rows"] == schema_valid
    assert references.SCRATCH not in mongo.db().list_collection_names()


def test_naive_pipeline_asks_stores_and_publishes_row_by_row(generated, settings, ims_service):
    path, _ = generated

    result = references.naive(path, CHUNK_ROWS, 2, 40, environ(settings))

    assert result["rows"] == 40
    published = read_topic(settings.kafka_bootstrap, settings.topic("bench.naive"), 40)
    assert len({message["value"]["order_id"] for message in published}) == 40
    assert references.SCRATCH not in mongo.db().list_collection_names()


def test_the_watch_sees_a_child_process_memory_and_cpu():
    work = textwrap.dedent("""
        import sys
        sys.stdin.readline()  # go
        block = b"x" * (80 * 1024 * 1024)  # written: 80 MB resident
        sum(range(3_000_000))
        print("ready", flush=True)
        sys.stdin.readline()  # end
    """)
    # The watched process starts the working one: the watch follows its descendants.
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys; subprocess.run([sys.executable, '-c', {work!r}])",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        with procstats.Watch({"probe": parent.pid}, interval=0.05) as watch:
            parent.stdin.write("go\n")
            parent.stdin.flush()
            assert parent.stdout.readline() == "ready\n"
        report = watch.report()["probe"]
    finally:
        parent.communicate("end\n", timeout=30)
    assert report["peak_rss_mb"] >= 80
    assert len(report["processes"]) == 2
    assert report["cpu_s"] > 0


def _size(rows: int, completed: float, final: float, worker_mb: float, api_mb: float) -> dict:
    run = {
        "completed_s": completed,
        "all_final_s": final,
        "upload_s": 1.0,
        "rows_per_s": round(rows / completed),
        "first_order_after_accepted_s": 1.5,
        "processes": {"worker": {"peak_rss_mb": worker_mb}, "api": {"peak_rss_mb": api_mb}},
    }
    entry = {
        "workers": 2,
        "median": pipeline_bench.median_run([run]),
        "reference_a_parse_validate": {"rows_per_s": 20_000},
        "reference_b_bulk_load": {"rows_per_s": 10_000},
        "reference_c_naive": {"rows_per_s": 300},
    }
    entry["ratios"] = pipeline_bench.ratios(entry)
    return {"rows": rows, "by_workers": [entry]}


def test_targets_are_judged_on_the_measured_figures():
    results = {
        "sizes": [
            _size(100_000, 12.0, 20.0, 150.0, 110.0),
            _size(1_000_000, 95.0, 160.0, 180.0, 119.0),
        ],
        "http": {
            "orders_stored": 1_000_000,
            "stats": {"p99_ms": 25.0},
            "order_by_id": {"p99_ms": 40.0},
        },
    }

    verdicts = {
        t["target"].split(" (")[0]: (t["value"], t["met"]) for t in pipeline_bench.targets(results)
    }

    assert verdicts["1M rows: upload to completed <= 100 s"] == (95.0, True)
    assert verdicts["1M rows: every order final <= 150 s"] == (160.0, False)
    assert verdicts["worker peak RSS 1M / 100k <= 1.15"] == (1.2, False)
    assert verdicts["API peak RSS receiving the 1M-row file <= 120 MB"] == (119.0, True)
    assert verdicts["GET /stats p99 <= 20 ms"] == (25.0, False)
    assert verdicts["GET /orders/<order_id> p99 <= 50 ms"] == (40.0, True)
    # 100k rows in 12 s = 8,333 rows/s against min(a, b) = 10,000: 0.83 >= 0.8.
    assert verdicts["end to end >= 0.8 x min(a, b), 100,000 rows, 2 worker process(es)"] == (
        0.83,
        True,
    )


def test_merged_invocations_keep_every_size_and_the_http_figures_of_the_fullest_store():
    def part(commit: str, rows: int, orders_stored: int) -> dict:
        return {
            "commit": commit,
            "started_at": f"2026-12-03T{commit}",
            "sizes": [_size(rows, 10.0, 20.0, 150.0, 110.0)],
            "http": {"orders_stored": orders_stored, "stats": {}, "order_by_id": {}},
        }

    out = pipeline_bench.merged([part("a", 100_000, 1_665_759), part("b", 1_000_000, 980_017)])

    assert [s["rows"] for s in out["sizes"]] == [100_000, 1_000_000]
    assert [i["commit"] for i in out["invocations"]] == ["a", "b"]
    assert out["http"]["orders_stored"] == 1_665_759
