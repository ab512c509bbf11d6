"""A generated 100,000-row file (2 % invalid, quoted commas and newlines, CRLF) through
the whole pipeline: counts exact, chunk count as configured."""

import json
import math
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from oms.uploads import repository as repo
from tests.pipeline.helpers import invalid_rows, upload_file, wait_for_upload

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_hundred_thousand_rows_with_crlf_and_quoted_newlines(api, pipeline, settings, tmp_path):
    path = tmp_path / "orders-100k.csv"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "generate_orders.py"),
            str(path),
            "--rows",
            "100000",
            "--invalid-ratio",
            "0.02",
            "--seed",
            "11",
            "--crlf",
            "--prefix",
            f"BIG{uuid.uuid4().hex[:6]}",
        ],
        check=True,
    )
    expected = json.loads(path.with_name(path.name + ".expected.json").read_text())
    assert expected["physical_lines"] > expected["rows"] + 1  # quoted newlines present
    assert b"\r\n" in path.read_bytes()[:2000]

    upload = wait_for_upload(api, upload_file(api, path)["upload_id"], timeout=1800)

    assert upload["status"] == "completed", upload.get("error")
    assert upload["chunks"]["total"] == math.ceil(100_000 / settings.chunk_rows)
    assert upload["chunks"]["done"] == upload["chunks"]["total"]
    assert upload["counts"]["rows"] == expected["rows"]
    assert upload["counts"]["valid"] == expected["valid"]
    assert upload["counts"]["invalid"] == expected["invalid"]
    assert upload["counts"]["duplicate"] == expected["invalid_by_rule"]["order_id_duplicate"]
    assert sum(c["rows"] for c in repo.list_chunks(upload["upload_id"])) == expected["rows"]
    report = invalid_rows(api, upload)
    assert len(report) == expected["invalid"]
    numbers = [int(row["row_number"]) for row in report]
    assert numbers == sorted(numbers)
    assert max(numbers) <= expected["physical_lines"]
