"""Check only (a dry run): the whole validation, IMS included, counts and the invalid
file, but no order stored, no event published, no stock taken; then commit it without
sending the file again."""

from __future__ import annotations

import pytest

from tests.namespaces import Written
from tests.pipeline.helpers import invalid_rows, upload_bytes, wait_for_upload
from tests.pipeline.rows import to_csv, valid_row

pytestmark = pytest.mark.integration


def checked_file(prefix: str, stored_order_id: str) -> tuple[bytes, list[dict]]:
    rows = [valid_row(n, prefix=prefix) for n in range(8)]
    rows[1]["sku"] = "NO-SUCH-SKU"  # unknown at IMS
    rows[3]["order_id"] = stored_order_id  # held by a stored order
    rows[6]["order_id"] = rows[0]["order_id"]  # an earlier row of the file (another chunk)
    return to_csv(rows), rows


def test_a_check_counts_like_a_real_run_and_stores_nothing(api, pipeline, settings):
    stored = valid_row(0, prefix="CHKSTORED")
    wait_for_upload(api, upload_bytes(api, "stored.csv", to_csv([stored]))["upload_id"])
    data, rows = checked_file("CHK", stored["order_id"])
    before = Written.now(settings)
    stats_before = api.get("/stats").get_json()

    accepted = upload_bytes(api, "check.csv", data, check="true", chunk_rows=3)
    check = wait_for_upload(api, accepted["upload_id"])

    assert accepted["check_only"] is True
    assert check["status"] == "completed" and check["check_only"] is True
    assert check["counts"] == {"rows": 8, "valid": 5, "invalid": 3, "duplicate": 2}
    assert check["invalid_by"]["rule"] == {"unknown_sku": 1, "duplicate": 2}
    assert [row["row_number"] for row in invalid_rows(api, check)] == ["3", "5", "8"]
    after = Written.now(settings)
    assert after.documents.get("orders") == before.documents.get("orders")  # none stored
    assert after.kafka_messages == before.kafka_messages  # no event: nothing to reserve
    assert after.documents.get("checked_orders", 0) == 0  # its claims are gone
    assert api.get(f"/orders/{rows[0]['order_id']}").status_code == 404
    assert check["order_status"]["on_hold"] == 0
    stats_after = api.get("/stats").get_json()
    assert stats_after["orders"] == stats_before["orders"]
    assert stats_after["rows"] == stats_before["rows"]  # a check is not processing


def test_a_committed_check_is_processed_for_real_once(api, pipeline, settings):
    stored = valid_row(0, prefix="CMTSTORED")
    wait_for_upload(api, upload_bytes(api, "stored.csv", to_csv([stored]))["upload_id"])
    data, rows = checked_file("CMT", stored["order_id"])
    check = wait_for_upload(
        api, upload_bytes(api, "commit.csv", data, check="true", chunk_rows=3)["upload_id"]
    )

    committed = api.post(f"/uploads/{check['upload_id']}/commit")
    again = api.post(f"/uploads/{check['upload_id']}/commit")

    assert committed.status_code == 202, committed.get_json()
    real = wait_for_upload(api, committed.get_json()["upload_id"])
    assert real["status"] == "completed" and real["check_only"] is False
    assert real["counts"] == check["counts"]  # what the check said is what happened
    assert real["committed_from"] == check["upload_id"]
    assert api.get(f"/uploads/{check['upload_id']}").get_json()["committed_as"] == real["upload_id"]
    assert api.get(f"/orders/{rows[0]['order_id']}").get_json()["upload_id"] == real["upload_id"]
    assert again.status_code == 409 and again.get_json()["code"] == "committed_already"
    assert again.get_json()["upload_id"] == real["upload_id"]


def test_only_a_completed_check_can_be_committed(api, pipeline):
    plain = wait_for_upload(
        api, upload_bytes(api, "plain.csv", to_csv([valid_row(0, prefix="NOTCHK")]))["upload_id"]
    )

    refused = api.post(f"/uploads/{plain['upload_id']}/commit")

    assert refused.status_code == 409 and refused.get_json()["code"] == "not_a_completed_check"
    assert api.post("/uploads/no-such-upload/commit").status_code == 404
