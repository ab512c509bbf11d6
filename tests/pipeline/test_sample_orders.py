"""sample_orders.csv end to end; the expected outcome of every row is documented in
benchmarks/sample_orders_expected.json (physical line -> valid, fields with errors), and
checked against an independent implementation of the rules in tests/benchmarks."""

import csv
import json
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from oms.stores import mongo
from tests.pipeline.helpers import (
    invalid_rows,
    read_topic,
    upload_file,
    wait_for_upload,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_orders.csv"
EXPECTED = {
    int(k): v
    for k, v in json.loads(
        (ROOT / "benchmarks" / "sample_orders_expected.json").read_text()
    ).items()
}


def _source_rows() -> dict[int, dict]:
    """Physical start line -> row, read with the csv module."""
    rows = {}
    with SAMPLE.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames  # reads the header line
        start = reader.line_num + 1
        for row in reader:
            rows[start] = row
            start = reader.line_num + 1
    return rows


def test_sample_orders_end_to_end(api, pipeline, settings):
    valid_lines = sorted(line for line, e in EXPECTED.items() if e["valid"])
    invalid_lines = sorted(line for line, e in EXPECTED.items() if not e["valid"])
    source = _source_rows()

    upload = wait_for_upload(api, upload_file(api, SAMPLE)["upload_id"])

    assert upload["status"] == "completed"
    assert upload["counts"]["rows"] == len(EXPECTED)
    assert upload["counts"]["valid"] == len(valid_lines)
    assert upload["counts"]["invalid"] == len(invalid_lines)

    # Every valid row is in MongoDB with the right values and types.
    stored = {
        o["row_number"]: o for o in mongo.db()["orders"].find({"upload_id": upload["upload_id"]})
    }
    assert sorted(stored) == valid_lines
    for line in valid_lines:
        order, row = stored[line], source[line]
        assert order["order_id"] == row["order_id"].strip()
        assert order["status"] == "on_hold"
        assert order["item"]["quantity"] == int(row["quantity"])
        assert isinstance(order["item"]["unit_price_cents"], int)
        assert order["item"]["unit_price_cents"] == Decimal(row["unit_price"]) * 100
        assert order["item"]["total_amount_cents"] == Decimal(row["total_amount"]) * 100
        assert isinstance(order["order_date"], datetime)
        assert order["order_date"].utcoffset() is not None
        assert order["shipping_address"] == row["shipping_address"].strip()

    # Exactly one order.created per stored order.
    messages = [
        m
        for m in read_topic(
            settings.kafka_bootstrap, settings.topic("order.created"), expect=len(stored)
        )
        if m["value"]["upload_id"] == upload["upload_id"]
    ]
    per_order = Counter(m["key"] for m in messages)
    assert sorted(per_order) == sorted(o["order_id"] for o in stored.values())
    assert set(per_order.values()) == {1}

    # The invalid file: original columns, row_number, every failing field, in row order.
    report = invalid_rows(api, upload)
    assert list(report[0])[:11] == list(source[2])
    assert list(report[0])[-2:] == ["row_number", "errors"]
    assert [int(r["row_number"]) for r in report] == invalid_lines
    for row in report:
        fields = [reason.split(":")[0] for reason in row["errors"].split("; ")]
        assert fields == EXPECTED[int(row["row_number"])]["fields"], row
