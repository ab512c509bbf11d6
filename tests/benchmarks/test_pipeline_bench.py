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
