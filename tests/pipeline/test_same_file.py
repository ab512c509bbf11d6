"""The same file twice: a file whose content (sha256) a completed upload had is refused
with 409 naming that upload, and nothing of it is stored, unless the client forces it."""

from __future__ import annotations

import io

import pytest

from tests.namespaces import Written, assert_nothing_written
from tests.pipeline.helpers import upload_bytes, wait_for_upload
from tests.pipeline.rows import to_csv, valid_row

pytestmark = pytest.mark.integration


def post(api, data: bytes, name: str = "again.csv", **query):
    return api.post(
        "/upload",
        query_string=query,
        data={"file": (io.BytesIO(data), name, "text/csv")},
        content_type="multipart/form-data",
    )


def test_a_completed_uploads_file_is_refused_with_a_link_to_it(api, pipeline, settings):
    data = to_csv([valid_row(n, prefix="TWICE") for n in range(3)])
    first = wait_for_upload(api, upload_bytes(api, "first.csv", data)["upload_id"])
    assert first["status"] == "completed"
    before = Written.now(settings)

    again = post(api, data, name="renamed.csv")  # the name does not matter, the bytes do

    assert again.status_code == 409
    body = again.get_json()
    assert body["code"] == "same_file"
    assert body["upload_id"] == first["upload_id"]
    assert body["status_url"] == f"/uploads/{first['upload_id']}"
    assert "force=true" in body["message"] and first["upload_id"] in body["message"]
    assert_nothing_written(settings, before)


def test_forced_the_same_file_is_uploaded_again(api, pipeline):
    data = to_csv([valid_row(n, prefix="FORCE") for n in range(2)])
    first = wait_for_upload(api, upload_bytes(api, "f.csv", data)["upload_id"])

    forced = upload_bytes(api, "f.csv", data, force="true")

    second = wait_for_upload(api, forced["upload_id"])
    assert forced["upload_id"] != first["upload_id"] and forced["sha256"] == first["sha256"]
    assert second["status"] == "completed"
    assert second["counts"] == {"rows": 2, "valid": 0, "invalid": 2, "duplicate": 2}


def test_a_file_whose_earlier_upload_did_not_complete_is_taken(api, pipeline):
    """Only a completed upload's content is refused: one rejected or failed (its rows never
    stored) is no reason to refuse the same bytes."""
    import hashlib
    import uuid

    from oms.uploads import repository as repo
    from oms.uploads.status import UploadStatus

    data = to_csv([valid_row(0, prefix="NOTDONE")])
    earlier = uuid.uuid4().hex
    repo.create_upload(
        earlier,
        filename="x.csv",
        key="k",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        chunk_rows=10,
    )
    repo.transition(earlier, UploadStatus.REJECTED, error="made rejected by a test")

    assert post(api, data).status_code == 202
