"""A file through the whole pipeline on the real stack: API -> S3 -> SQS -> worker ->
MongoDB + Kafka + invalid file."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from oms.stores import mongo
from tests.pipeline.helpers import (
    invalid_rows,
    read_topic,
    upload_bytes,
    wait_for_upload,
)
from tests.pipeline.rows import to_csv, valid_row

pytestmark = pytest.mark.integration


def test_mixed_file_across_chunks_stores_valid_rows_and_reports_every_invalid_one(
    api, pipeline, settings
):
    # An order stored by an earlier upload makes the same order_id invalid here.
    earlier = upload_bytes(api, "earlier.csv", to_csv([valid_row(0, prefix="E2E-OLD")]))
    assert wait_for_upload(api, earlier["upload_id"])["status"] == "completed"

    rows = [valid_row(n, prefix="E2E") for n in range(1, 13)]
    rows[1]["shipping_address"] = 'Flat 4, "Rose Villa",\nMG Road, Bengaluru'  # line 3-4
    rows[3]["quantity"] = "abc"
    rows[3]["customer_email"] = "not-an-email"
    rows[5]["sku"] = "SKU-DOES-NOT-EXIST"
    rows[7]["order_id"] = rows[0]["order_id"]  # repeats line 2, in another chunk
    rows[9] = valid_row(0, prefix="E2E-OLD")  # stored by the earlier upload
    rows[10]["total_amount"] = "=1+2"  # wrong total, formula-like cell
    data = to_csv(rows, line_end="\r\n")

    accepted = upload_bytes(api, "mixed.csv", data, chunk_rows=4)
    upload = wait_for_upload(api, accepted["upload_id"])

    # Header is line 1; row i starts at line i + 2, plus one for the quoted newline.
    def line(i: int) -> int:
        return i + 2 + (1 if i > 1 else 0)

    assert upload["status"] == "completed", upload
    assert upload["chunks"] == {"total": 3, "done": 3, "failed": 0, "cancelled": 0, "pending": 0}
    assert upload["counts"] == {"rows": 12, "valid": 7, "invalid": 5, "duplicate": 2}

    report = invalid_rows(api, upload)
    assert [int(r["row_number"]) for r in report] == [line(3), line(5), line(7), line(9), line(10)]
    reasons = {int(r["row_number"]): r["errors"] for r in report}
    assert "quantity:" in reasons[line(3)] and "customer_email:" in reasons[line(3)]
    assert "sku: unknown SKU" in reasons[line(5)]
    assert reasons[line(7)].startswith("order_id: duplicate order_id, already used")
    assert reasons[line(9)].startswith("order_id: duplicate order_id, already used")
    assert "total_amount:" in reasons[line(10)]
    assert report[-1]["total_amount"] == "'=1+2"  # neutralised for spreadsheets
    assert report[0]["order_id"] == rows[3]["order_id"]  # original columns kept

    stored = list(mongo.db()["orders"].find({"upload_id": upload["upload_id"]}))
    assert sorted(o["row_number"] for o in stored) == [line(i) for i in (0, 1, 2, 4, 6, 8, 11)]
    order = next(o for o in stored if o["row_number"] == line(1))
    assert order["shipping_address"] == rows[1]["shipping_address"]
    assert order["status"] == "on_hold"
    assert order["item"]["unit_price_cents"] == int(Decimal(rows[1]["unit_price"]) * 100)
    assert order["item"]["total_amount_cents"] == int(Decimal(rows[1]["total_amount"]) * 100)
    assert order["item"]["quantity"] == int(rows[1]["quantity"])
    assert order["order_date"] == datetime(2025, 3, 1, tzinfo=UTC)
    assert all(o["_id"] == f"{upload['upload_id']}:{o['row_number']}" for o in stored)

    events = [
        m
        for m in read_topic(settings.kafka_bootstrap, settings.topic("order.created"), expect=8)
        if m["value"]["upload_id"] == upload["upload_id"]
    ]
    assert sorted(m["key"] for m in events) == sorted(o["order_id"] for o in stored)
    event = next(m["value"] for m in events if m["key"] == order["order_id"])
    assert event["event_type"] == "order.created"
    assert event["total_amount"] == rows[1]["total_amount"]
    assert event["status"] == "on_hold" and event["hub_id"] == rows[1]["hub_id"]
    assert len({m["value"]["event_id"] for m in events}) == len(events)


def test_stats_count_orders_by_status_and_hub_from_counters(api, pipeline):
    before = api.get("/stats").get_json()
    rows = [valid_row(n, prefix="STATS") for n in range(6)]

    upload = wait_for_upload(api, upload_bytes(api, "stats.csv", to_csv(rows))["upload_id"])

    after = api.get("/stats").get_json()
    assert upload["counts"]["valid"] == 6
    assert after["orders"]["total"] - before["orders"]["total"] == 6
    assert (
        after["orders"]["by_status"]["on_hold"] - before["orders"]["by_status"].get("on_hold", 0)
    ) == 6
    for hub in {r["hub_id"] for r in rows}:
        added = sum(1 for r in rows if r["hub_id"] == hub)
        assert after["orders"]["by_hub"][hub] - before["orders"]["by_hub"].get(hub, 0) == added
    assert after["uploads"]["by_status"]["completed"] == (
        before["uploads"]["by_status"]["completed"] + 1
    )
