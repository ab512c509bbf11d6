"""An upload counts its invalid rows by field and by rule, exactly, as chunks finish:
what an operator reads instead of downloading the invalid file."""

from __future__ import annotations

import pytest

from oms.pipeline.chunk import process_chunk
from tests.pipeline.helpers import upload_bytes, wait_for_upload
from tests.pipeline.rows import to_csv, valid_row

pytestmark = pytest.mark.integration


def test_invalid_rows_are_counted_by_field_and_rule_across_chunks(api, pipeline):
    rows = [valid_row(n, prefix="SUMM") for n in range(10)]
    rows[1]["customer_name"] = ""
    rows[2]["sku"] = "NO-SUCH-SKU"
    rows[4].update(sku="NO-SUCH-SKU", hub_id="NO-SUCH-HUB")
    rows[5].update(customer_name="", sku="NO-SUCH-SKU-2")
    rows[7]["order_id"] = rows[0]["order_id"]  # chunk 2 repeats chunk 0's order
    accepted = upload_bytes(api, "summary.csv", to_csv(rows), chunk_rows=3)

    upload = wait_for_upload(api, accepted["upload_id"])

    assert upload["status"] == "completed" and upload["chunks"]["total"] == 4
    assert upload["counts"]["invalid"] == 5
    # a row counts once under each field and each rule it fails
    assert upload["invalid_by"] == {
        "field": {"sku": 3, "customer_name": 2, "hub_id": 1, "order_id": 1},
        "rule": {"unknown_sku": 3, "empty": 2, "duplicate": 1, "unknown_hub": 1},
    }

    # a chunk run again (SQS redelivers) finds itself done and counts nothing twice
    process_chunk(upload["upload_id"], 1)
    again = api.get(f"/uploads/{upload['upload_id']}").get_json()
    assert again["invalid_by"] == upload["invalid_by"]
    assert again["counts"] == upload["counts"]

    # the invalid rows themselves, a page at a time in file order
    pages, cursor = [], None
    while True:
        query = {"page_size": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get(f"/uploads/{upload['upload_id']}/invalid-rows", query_string=query)
        assert page.status_code == 200
        body = page.get_json()
        pages.append([item["row_number"] for item in body["items"]])
        cursor = body["next"]
        if cursor is None:
            break
    assert pages == [[3, 4], [6, 7], [9]]  # rows 1, 2, 4, 5, 7 (the header is line 1)
    first = api.get(f"/uploads/{upload['upload_id']}/invalid-rows").get_json()["items"]
    assert first[0]["cells"]["customer_name"] == "" and "customer_name" in first[0]["errors"]
    assert first[1]["cells"]["sku"] == "NO-SUCH-SKU" and "unknown SKU" in first[1]["errors"]
    assert (
        first[4]["cells"]["order_id"] == rows[0]["order_id"] and "duplicate" in first[4]["errors"]
    )


def test_invalid_rows_of_an_unknown_upload_or_with_a_forged_cursor_are_refused(api, pipeline):
    assert api.get("/uploads/no-such-upload/invalid-rows").status_code == 404
    rows = [valid_row(0, prefix="FORGE", sku="NO-SUCH-SKU")]
    upload_id = wait_for_upload(api, upload_bytes(api, "f.csv", to_csv(rows))["upload_id"])[
        "upload_id"
    ]
    forged = api.get(f"/uploads/{upload_id}/invalid-rows", query_string={"cursor": "bm90LWpzb24"})
    assert forged.status_code == 422 and "cursor" in forged.get_json()["fields"]["query"]


def test_an_upload_without_invalid_rows_has_empty_counts(api, pipeline):
    rows = [valid_row(n, prefix="CLEAN") for n in range(3)]
    upload = wait_for_upload(api, upload_bytes(api, "clean.csv", to_csv(rows))["upload_id"])

    assert upload["counts"]["invalid"] == 0
    assert upload["invalid_by"] == {"field": {}, "rule": {}}
