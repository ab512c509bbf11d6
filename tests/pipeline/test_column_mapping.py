"""Column mapping: a file whose columns have other names goes through with a mapping
(given with the upload, or saved and named), which is recorded on the upload; a mapping
that cannot apply is refused with the reason, and nothing is stored."""

from __future__ import annotations

import io
import json

import pytest

from tests.namespaces import Written, assert_nothing_written
from tests.pipeline.helpers import invalid_rows, wait_for_upload
from tests.pipeline.rows import THEIRS, their_file, valid_row

MAPPING = {theirs: ours for ours, theirs in THEIRS.items()}

pytestmark = pytest.mark.integration


def post(api, data: bytes, **query):
    return api.post(
        "/upload",
        query_string=query,
        data={"file": (io.BytesIO(data), "theirs.csv", "text/csv")},
        content_type="multipart/form-data",
    )


def test_without_a_mapping_the_file_is_refused_with_the_mapping_it_needs(api, pipeline):
    refused = post(api, their_file("MAPNO")).get_json()

    assert refused["code"] == "missing_columns"
    assert refused["suggestions"] == THEIRS  # exactly the mapping that makes it go through


def test_a_mapping_given_with_the_upload_reads_their_columns_as_ours(api, pipeline):
    response = post(api, their_file("MAPGO", bad_sku_at=2), mapping=json.dumps(MAPPING))

    assert response.status_code == 202, response.get_json()
    upload = wait_for_upload(api, response.get_json()["upload_id"])
    assert upload["status"] == "completed"
    assert upload["counts"] == {"rows": 4, "valid": 3, "invalid": 1, "duplicate": 0}
    assert upload["mapping"] == MAPPING and upload["mapping_name"] is None
    assert api.get("/orders/MAPGO-000001").get_json()["item"]["sku"] == valid_row(1)["sku"]
    # the invalid file keeps the file's own column names
    records = invalid_rows(api, upload)
    assert len(records) == 1 and records[0]["sku_id"] == "NO-SUCH-SKU"
    assert records[0]["id"] == "MAPGO-000002" and "sku" not in records[0]


def test_a_saved_mapping_is_used_by_name_and_recorded(api, pipeline):
    saved = api.put("/mappings/their-shop", json={"columns": {"SKU_ID ": "sku", **MAPPING}})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["columns"] == MAPPING  # names as the header compares them
    assert "their-shop" in [m["name"] for m in api.get("/mappings").get_json()]

    response = post(api, their_file("MAPNAME"), mapping_name="their-shop")

    upload = wait_for_upload(api, response.get_json()["upload_id"])
    assert upload["status"] == "completed" and upload["counts"]["valid"] == 4
    assert upload["mapping_name"] == "their-shop" and upload["mapping"] == MAPPING
    assert api.delete("/mappings/their-shop").status_code == 204
    assert api.get("/mappings/their-shop").status_code == 404


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"mapping": json.dumps({"sku_id": "stock_keeping_unit"})}, "which OMS does not have"),
        ({"mapping": json.dumps({"sku_code": "sku"})}, "which the file does not have"),
        ({"mapping": json.dumps({"sku_id": "sku", "price": "sku"})}, "more than one column"),
        ({"mapping": "{not json"}, "not JSON"),
        ({"mapping_name": "never-saved"}, "no saved mapping named 'never-saved'"),
    ],
)
def test_a_mapping_that_cannot_apply_is_refused_and_nothing_is_stored(
    api, pipeline, settings, query, words
):
    before = Written.now(settings)

    response = post(api, their_file("MAPBAD"), **query)

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "bad_mapping" and words in body["message"], body
    assert_nothing_written(settings, before)


def test_a_saved_mapping_must_name_our_columns(api, pipeline):
    response = api.put("/mappings/wrong", json={"columns": {"sku_id": "skew"}})

    assert response.status_code == 422 and response.get_json()["code"] == "bad_mapping"
    assert api.get("/mappings/wrong").status_code == 404
