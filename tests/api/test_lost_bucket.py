"""The file store lost the deployment's bucket (moto restarted): the API says so as a
503, the service's fault, and records nothing."""

import io

import pytest

from oms.stores import mongo, s3
from tests.pipeline.rows import to_csv, valid_row

pytestmark = pytest.mark.integration


def test_an_upload_while_the_bucket_is_gone_is_a_503_saying_so(fresh_settings):
    from oms.api.app import create_app

    api = create_app(fresh_settings).test_client()
    s3.client().delete_bucket(Bucket=fresh_settings.s3_bucket)
    try:
        response = api.post(
            "/upload",
            data={"file": (io.BytesIO(to_csv([valid_row(1)])), "o.csv", "text/csv")},
            content_type="multipart/form-data",
        )

        assert response.status_code == 503
        body = response.get_json()
        assert body["code"] == "unavailable"
        assert "no bucket" in body["message"] and fresh_settings.s3_bucket not in body["message"]
        assert mongo.db()["uploads"].count_documents({}) == 0
    finally:
        s3.ensure_bucket()
