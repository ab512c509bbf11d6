"""A bad file never becomes a poison file: oversized cells, rows and headers, control
characters anywhere, and IMS calls too large for IMS, each end as invalid rows or a
refused file with the precise reason, never as a retry loop."""

from __future__ import annotations

import pytest

from oms.stores import ims
from tests.namespaces import Written, assert_nothing_written
from tests.pipeline.helpers import invalid_rows, upload_bytes, wait_for_upload
from tests.pipeline.rows import COLUMNS, to_csv, valid_row

pytestmark = pytest.mark.integration


def test_a_file_of_long_skus_ends_with_those_rows_invalid(api, pipeline):
    """4,500 rows whose sku is 2,000 characters (9.7 MB) used to exceed IMS's body limit
    and fail after 6 attempts with 0 rows reported."""
    rows = [valid_row(n, prefix="LONGSKU") for n in range(4500)]
    for row in rows[100:]:
        row["sku"] = "S" * 2000

    upload = wait_for_upload(api, upload_bytes(api, "long.csv", to_csv(rows))["upload_id"])

    assert upload["status"] == "completed", upload
    assert upload["counts"] == {"rows": 4500, "valid": 100, "invalid": 4400, "duplicate": 0}
    reasons = {r["errors"] for r in invalid_rows(api, upload)}
    assert reasons == {"sku: has 2000 characters; at most 1000 are allowed"}


def test_a_nul_byte_far_into_the_file_is_an_invalid_row(api, pipeline):
    rows = [valid_row(n, prefix="NUL") for n in range(600)]  # > 64 KiB before the NUL
    rows[550]["customer_name"] = "Aa\x00rav"
    data = to_csv(rows)
    assert data.index(b"\x00") > 64 * 1024

    upload = wait_for_upload(api, upload_bytes(api, "nul.csv", data)["upload_id"])

    assert upload["counts"]["invalid"] == 1 and upload["counts"]["valid"] == 599
    [bad] = invalid_rows(api, upload)
    assert bad["errors"] == "customer_name: contains a NUL byte"
    assert bad["customer_name"] == "Aa\ufffdrav"


def test_a_very_long_address_is_not_stored(api, pipeline):
    rows = [valid_row(1, prefix="ADDR"), valid_row(2, prefix="ADDR")]
    rows[1]["shipping_address"] = "Flat 2, " + "very long road " * 9000

    upload = wait_for_upload(api, upload_bytes(api, "addr.csv", to_csv(rows))["upload_id"])

    assert upload["counts"] == {"rows": 2, "valid": 1, "invalid": 1, "duplicate": 0}
    [bad] = invalid_rows(api, upload)
    assert bad["errors"] == (
        "row: has 135092 characters; at most 65536 are allowed; "
        "shipping_address: has 135008 characters; at most 1000 are allowed"
    )
    assert len(bad["shipping_address"]) == 1003  # cut in the invalid file too


def test_a_header_of_too_many_columns_is_refused(api, settings):
    columns = COLUMNS + [f"x{n}" for n in range(300)]
    before = Written.now(settings)

    response = api.post(
        "/upload",
        data={"file": (_io(to_csv([], columns)), "wide.csv")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    assert response.get_json()["code"] == "too_many_columns"
    assert "311 columns; at most 200" in response.get_json()["message"]
    assert_nothing_written(settings, before)


def _io(data: bytes):
    import io

    return io.BytesIO(data)


def test_ims_calls_are_cut_to_a_size_ims_accepts(ims_service, settings):
    pairs = {(f"SKU-{n:05d}" + "x" * 100, "HUB-BLR-01") for n in range(12_000)}

    assert len(ims._batches(sorted(pairs))) >= 2
    answers = ims.validate_pairs(pairs)

    assert len(answers) == 12_000 and not any(a.sku_exists for a in answers.values())
    assert all(a.hub_exists for a in answers.values())


def test_a_sku_longer_than_any_is_answered_without_asking(ims_service, settings):
    answer = ims.validate_pairs({("S" * 500, "HUB-BLR-01")})

    assert answer[("S" * 500, "HUB-BLR-01")] == ims.PairCheck(False, True)
