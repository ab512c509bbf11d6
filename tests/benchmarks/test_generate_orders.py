"""benchmarks/generate_orders.py: the sidecar's counts are exact, the output deterministic."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.benchmarks.order_rules import RowChecker, records

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "generate_orders.py"


def generate(out: Path, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(out), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    printed = json.loads(done.stdout)
    sidecar = json.loads(Path(f"{out}.expected.json").read_text())
    assert printed == {k: sidecar[k] for k in ("rows", "valid", "invalid")}
    return sidecar


@pytest.fixture(scope="module")
def crlf_file(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("gen") / "orders.csv"
    sidecar = generate(out, "--rows", "2000", "--invalid-ratio", "0.05", "--seed", "7", "--crlf")
    return out, sidecar


def test_sidecar_counts_match_a_reparse(crlf_file):
    out, sidecar = crlf_file
    checker = RowChecker()
    rows = invalid = 0
    by_field: Counter[str] = Counter()
    for _, row in records(out):
        rows += 1
        fields = checker.bad_fields(row)
        assert len(fields) <= 1, (
            row,
            fields,
        )  # each invalid row breaks exactly one rule
        invalid += bool(fields)
        by_field.update(fields)

    assert rows == sidecar["rows"] == 2000
    assert invalid == sidecar["invalid"]
    assert rows - invalid == sidecar["valid"]
    assert dict(by_field) == sidecar["invalid_by_field"]
    assert sum(sidecar["invalid_by_rule"].values()) == invalid
    assert 0.03 < invalid / rows < 0.07


def test_every_field_is_broken_somewhere(crlf_file):
    _, sidecar = crlf_file

    assert len(sidecar["invalid_by_field"]) == 11
    assert len(sidecar["invalid_by_rule"]) == 18


def test_quoted_newlines_and_crlf_record_ends(crlf_file):
    out, sidecar = crlf_file
    data = out.read_bytes()
    physical_lines = data.count(b"\n")

    assert physical_lines == sidecar["physical_lines"]
    assert physical_lines > sidecar["rows"] + 1  # quoted newlines inside some addresses
    assert data.endswith(b"\r\n")
    assert data.count(b"\r\n") == sidecar["rows"] + 1  # header + one per record
    assert b'"' in data and b',"' in data  # quoted fields (commas) present


def test_order_ids_are_unique_except_deliberate_duplicates(crlf_file):
    out, sidecar = crlf_file
    ids = Counter(row["order_id"] for _, row in records(out))
    repeated = sum(n - 1 for order_id, n in ids.items() if order_id and n > 1)

    assert repeated == sidecar["invalid_by_rule"].get("order_id_duplicate", 0)
    assert all(i.startswith("GEN7") for i in ids if i)


def test_same_seed_same_bytes_and_prefix_separates_runs(tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    generate(a, "--rows", "300", "--seed", "3")
    generate(b, "--rows", "300", "--seed", "3")
    generate(c, "--rows", "300", "--seed", "3", "--prefix", "RUN2")

    assert a.read_bytes() == b.read_bytes()
    assert b"\r" not in a.read_bytes()  # LF unless --crlf
    ids_a = {row["order_id"] for _, row in records(a)} - {""}
    ids_c = {row["order_id"] for _, row in records(c)} - {""}
    assert not ids_a & ids_c


def test_no_invalid_rows_when_ratio_is_zero(tmp_path):
    sidecar = generate(tmp_path / "clean.csv", "--rows", "500", "--invalid-ratio", "0")

    assert sidecar["invalid"] == 0
    assert sidecar["invalid_by_field"] == {}


def test_bad_prefix_is_refused(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            str(tmp_path / "x.csv"),
            "--prefix",
            "bad prefix",
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 2
    assert "prefix" in done.stderr
