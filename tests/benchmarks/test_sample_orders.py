"""sample_orders.csv and its expected outcome per physical line agree with the rules."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tests.benchmarks.order_rules import COLUMNS, RowChecker, records

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_orders.csv"
EXPECTED = ROOT / "benchmarks" / "sample_orders_expected.json"


def test_expected_file_matches_an_independent_check_of_every_row():
    expected = json.loads(EXPECTED.read_text())
    checker = RowChecker()

    actual = {}
    for line, row in records(SAMPLE):
        fields = checker.bad_fields(row)
        actual[str(line)] = {"valid": not fields, "fields": fields}

    assert actual == expected


def test_sample_covers_every_rule_and_the_tricky_valid_cases():
    expected = json.loads(EXPECTED.read_text())
    rows = dict(records(SAMPLE))
    valid = [rows[int(line)] for line, e in expected.items() if e["valid"]]
    invalid_fields = Counter(f for e in expected.values() for f in e["fields"])

    assert 45 <= len(rows) <= 60
    assert 30 <= len(valid) <= 40
    assert set(invalid_fields) == set(COLUMNS)  # every field has a broken row
    assert invalid_fields["order_id"] >= 4  # empty, characters, length, duplicate
    assert invalid_fields["quantity"] >= 3  # 0, "abc", "1.5"
    assert invalid_fields["unit_price"] >= 2  # negative, 3 decimals
    assert invalid_fields["order_date"] >= 2  # impossible date, not ISO
    assert any(len(e["fields"]) >= 3 for e in expected.values())
    assert any("\n" in r["shipping_address"] for r in valid)
    assert any("," in r["shipping_address"] for r in valid)
    assert any(r["order_date"].endswith(("+05:30", "Z")) for r in valid)
    assert any(
        r["total_amount"] != f"{int(r['quantity']) * float(r['unit_price']):.2f}" for r in valid
    )


def test_line_numbers_are_physical_lines():
    lines = SAMPLE.read_text(encoding="utf-8").split("\n")
    expected = json.loads(EXPECTED.read_text())
    starts = sorted(int(n) for n in expected)

    assert starts[0] == 2
    assert starts[-1] > len(starts) + 1  # quoted newlines push later records down
    for line, row in records(SAMPLE):
        assert lines[line - 1].startswith(row["order_id"] + ",")
