"""IMS failing: a chunk retries with backoff and never marks rows invalid because of it;
past its retries it fails alone, and an operator's retry finishes the upload."""

import pytest
import requests

from oms.stores import mongo
from oms.uploads import repository as repo
from tests.conftest import IMS_SERVICE_KEY
from tests.pipeline.helpers import invalid_rows, upload_bytes, wait_for_upload
from tests.pipeline.rows import SKUS, to_csv, valid_row

# IMS writes (fault injection included) need the service key: see ims/auth.py.
IMS_KEY = {"X-Service-Key": IMS_SERVICE_KEY}

pytestmark = pytest.mark.integration


@pytest.fixture
def ims_faults(ims_service):
    def inject(count: int, status: int = 500, sku: str | None = None) -> None:
        response = requests.put(
            f"{ims_service}/v1/faults/validate",
            json={"status": status, "count": count, "sku": sku},
            headers=IMS_KEY,
            timeout=5,
        )
        response.raise_for_status()

    yield inject
    requests.delete(
        f"{ims_service}/v1/faults/validate", headers=IMS_KEY, timeout=5
    ).raise_for_status()


def test_ims_errors_are_retried_and_no_row_is_marked_invalid(api, pipeline, ims_faults):
    rows = [valid_row(n, prefix="IMS500") for n in range(8)]
    ims_faults(count=2)  # the first two validate calls answer 500

    upload = wait_for_upload(api, upload_bytes(api, "ims500.csv", to_csv(rows))["upload_id"])

    assert upload["status"] == "completed"
    assert upload["counts"] == {"rows": 8, "valid": 8, "invalid": 0, "duplicate": 0}
    assert repo.get_chunk(upload["upload_id"], 0)["attempts"] == 3


def test_a_chunk_failing_past_its_retries_fails_alone_and_retry_completes_the_upload(
    api, pipeline, ims_faults, settings
):
    rows = [valid_row(n, prefix="OPSRETRY", sku=SKUS[0]) for n in range(9)]
    rows[4]["sku"] = SKUS[1]  # only chunk 1 (rows 3-5) asks IMS about SKUS[1]
    rows[5]["quantity"] = "0"  # an invalid row inside the failing chunk
    rows[7]["customer_email"] = "nope"
    ims_faults(count=settings.task_max_retries + 1, sku=SKUS[1])

    accepted = upload_bytes(api, "opsretry.csv", to_csv(rows), chunk_rows=3)
    failed = wait_for_upload(api, accepted["upload_id"])

    upload_id = accepted["upload_id"]
    assert failed["status"] == "failed"
    assert failed["failed_chunks"] == [1]
    assert failed["chunks"] == {"total": 3, "done": 2, "failed": 1, "cancelled": 0, "pending": 0}
    assert "chunk 1" in failed["error"] and "injected failure" in failed["error"]
    assert repo.get_chunk(upload_id, 1)["attempts"] == settings.task_max_retries + 1
    # The other chunks' orders and invalid rows are kept; nothing of chunk 1 was written.
    stored = sorted(o["row_number"] for o in mongo.db()["orders"].find({"upload_id": upload_id}))
    assert stored == [2, 3, 4, 8, 10]
    assert failed["counts"] == {"rows": 6, "valid": 5, "invalid": 1, "duplicate": 0}

    response = api.post(f"/uploads/{upload_id}/retry")
    assert response.status_code == 202
    done = wait_for_upload(api, upload_id)

    assert done["status"] == "completed"
    assert done["counts"] == {"rows": 9, "valid": 7, "invalid": 2, "duplicate": 0}
    assert done["chunks"] == {"total": 3, "done": 3, "failed": 0, "cancelled": 0, "pending": 0}
    assert done["failed_chunks"] == [] and done["error"] is None
    stored = sorted(o["row_number"] for o in mongo.db()["orders"].find({"upload_id": upload_id}))
    assert stored == [2, 3, 4, 5, 6, 8, 10]
    report = invalid_rows(api, done)
    assert [int(r["row_number"]) for r in report] == [7, 9]


def test_retry_of_an_upload_that_did_not_fail_is_a_conflict(api, pipeline):
    upload = wait_for_upload(
        api, upload_bytes(api, "ok.csv", to_csv([valid_row(1, prefix="NORETRY")]))["upload_id"]
    )

    response = api.post(f"/uploads/{upload['upload_id']}/retry")

    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict"


def test_retry_of_an_upload_whose_file_the_store_lost_is_refused_saying_so(
    api, pipeline, ims_faults, settings
):
    from oms.stores import s3

    rows = [valid_row(n, prefix="LOSTSRC", sku=SKUS[0]) for n in range(4)]
    ims_faults(count=10_000)  # every attempt of every chunk
    failed = wait_for_upload(
        api, upload_bytes(api, "lostsrc.csv", to_csv(rows), chunk_rows=2)["upload_id"]
    )
    upload_id = failed["upload_id"]
    assert failed["status"] == "failed"
    s3.client().delete_object(Bucket=settings.s3_bucket, Key=repo.get_upload(upload_id)["s3_key"])

    response = api.post(f"/uploads/{upload_id}/retry")

    assert response.status_code == 409
    message = response.get_json()["message"]
    assert "uploaded file" in message and "upload the file again" in message
    assert settings.s3_bucket not in message
    after = api.get(f"/uploads/{upload_id}").get_json()
    assert after["status"] == "failed" and after["failed_chunks"] == failed["failed_chunks"]
    assert repo.get_upload(upload_id).get("retries", 0) == 0
