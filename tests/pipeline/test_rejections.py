"""Files that cannot be ingested are refused with a precise reason; nothing is stored,
queued or published."""

import pytest

from oms.pipeline import split
from oms.stores import s3
from oms.uploads import keys
from oms.uploads import repository as repo
from tests.namespaces import Written, assert_nothing_written
from tests.pipeline.helpers import upload_bytes, wait_for_upload
from tests.pipeline.rows import COLUMNS, to_csv, valid_row

pytestmark = pytest.mark.integration


def test_missing_columns_are_refused_at_upload_naming_them(api, settings):
    before = Written.now(settings)
    columns = [c for c in COLUMNS if c not in ("customer_email", "total_amount")]

    response = api.post(
        "/upload",
        data={"file": (_io(to_csv([valid_row(1)], columns)), "orders.csv")},
        content_type="multipart/form-data",
    )

    body = response.get_json()
    assert response.status_code == 422
    assert body["code"] == "missing_columns"
    assert body["missing"] == ["customer_email", "total_amount"]
    assert "customer_email" in body["message"] and "total_amount" in body["message"]
    assert_nothing_written(settings, before)


def _split_stored(settings, name: str, data: bytes) -> tuple[str, split.SplitResult, Written]:
    """Put a file in S3 as the API would have, and run the split on it directly; also
    what the namespace held just before the split."""
    import uuid

    upload_id = uuid.uuid4().hex
    key = keys.upload_key(upload_id, name)
    s3.put_bytes(key, data)
    repo.create_upload(upload_id, filename=name, key=key, size=len(data), sha256="x", chunk_rows=10)
    before = Written.now(settings)
    return upload_id, split.split_upload(upload_id), before


def test_ingest_rejects_a_stored_file_with_missing_columns_and_processes_no_row(settings):
    upload_id, result, before = _split_stored(
        settings, "legacy.csv", b"tenant_id,seller_id,hub_id,sku_id,quantity\n1,2,3,4,5\n"
    )

    upload = repo.get_upload(upload_id)
    assert result.action == "skip"
    assert upload["status"] == "rejected"
    assert upload["error_code"] == "missing_columns"
    for column in ["order_id", "customer_name", "customer_email", "unit_price"]:
        assert column in upload["error"]
    assert_nothing_written(settings, before)  # no chunk, order, part file, task, event


def test_an_empty_file_is_refused_and_nothing_is_stored(api, settings):
    before = Written.now(settings)

    response = api.post(
        "/upload", data={"file": (_io(b""), "empty.csv")}, content_type="multipart/form-data"
    )

    assert response.status_code == 400
    assert response.get_json()["code"] == "empty_file"
    assert_nothing_written(settings, before)


def test_a_binary_file_is_refused_as_not_csv(api, settings):
    before = Written.now(settings)

    response = api.post(
        "/upload",
        # a workbook saved under a .csv name (a real .xlsx name is read as a workbook:
        # tests/pipeline/test_spreadsheet.py)
        data={"file": (_io(b"PK\x03\x04\x00\x00binary"), "orders.csv")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 415
    assert response.get_json()["code"] == "not_csv"
    assert_nothing_written(settings, before)


def test_a_request_without_the_file_field_is_a_clear_400(api, settings):
    before = Written.now(settings)

    response = api.post(
        "/upload", data={"other": (_io(b"a,b\n"), "x.csv")}, content_type="multipart/form-data"
    )

    assert response.status_code == 400
    assert response.get_json()["code"] == "no_file"
    assert_nothing_written(settings, before)


def test_a_header_only_file_completes_with_zero_orders(api, pipeline):
    accepted = upload_bytes(api, "header-only.csv", to_csv([]))

    upload = wait_for_upload(api, accepted["upload_id"], timeout=120)

    assert upload["status"] == "completed"
    assert upload["counts"] == {"rows": 0, "valid": 0, "invalid": 0, "duplicate": 0}
    assert upload["chunks"]["total"] == 0
    assert upload["invalid_file"] is None


def _io(data: bytes):
    import io

    return io.BytesIO(data)


def test_an_empty_stored_object_is_rejected_by_the_split_with_zero_orders(settings):
    """The API refuses empty files, but a file that reaches the pipeline empty (another
    producer, a truncated copy) must end cleanly too."""
    upload_id, result, before = _split_stored(settings, "empty.csv", b"")

    upload = repo.get_upload(upload_id)
    assert result.action == "skip"
    assert upload["status"] == "rejected"
    assert upload["error_code"] == "empty_file"
    assert_nothing_written(settings, before)
