"""finalize_upload never leaves an upload finalizing: what cannot be joined fails the
upload with the reason, so that `retry` applies."""

import uuid

import pytest

from oms.pipeline import chunk
from oms.stores import s3
from oms.uploads import keys
from oms.uploads import repository as repo
from tests.pipeline.helpers import stored_upload
from tests.pipeline.rows import valid_row
from workers import tasks

pytestmark = pytest.mark.integration


def test_a_chunk_part_lost_from_the_file_store_fails_the_upload_saying_which(ims_service, settings):
    rows = [valid_row(n, prefix=f"LOSTPART{uuid.uuid4().hex[:4]}") for n in range(3)]
    rows[1]["customer_email"] = "broken"  # so chunk 0 writes a part of invalid rows
    upload_id = stored_upload("lost.csv", rows)
    chunk.process_chunk(upload_id, 0)
    s3.client().delete_object(
        Bucket=settings.s3_bucket, Key=repo.get_chunk(upload_id, 0)["part_key"]
    )

    outcome = tasks.finalize_upload.apply(args=[upload_id]).get()

    assert outcome["status"] == "failed"
    upload = repo.get_upload(upload_id)
    assert upload["status"] == "failed"
    assert upload["error_code"] == "storage_lost"
    assert "the invalid rows of chunk 0" in upload["error"]
    assert settings.s3_bucket not in upload["error"]
    assert not list(s3.list_keys(keys.invalid_key(upload_id)))  # no half-joined file
