"""Order files written by other implementations of this service (../shared/peer-data):
each is processed, or refused with the exact columns it lacks."""

import csv
import io
from pathlib import Path

import pytest

from oms.ingest.header import REQUIRED_COLUMNS
from tests.pipeline.helpers import wait_for_upload

pytestmark = pytest.mark.integration

PEER_DATA = Path(__file__).resolve().parents[3] / "shared" / "peer-data"
FILES = sorted(PEER_DATA.glob("*.csv"))


def test_peer_data_is_present():
    assert len(FILES) >= 20, f"expected the peer files in {PEER_DATA}"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_each_peer_file_is_processed_or_refused_precisely(api, pipeline, path):
    data = path.read_bytes()
    header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    missing = [c for c in REQUIRED_COLUMNS if c not in {h.strip().lower() for h in header}]

    response = api.post("/upload", data={"file": (io.BytesIO(data), path.name)},
                        content_type="multipart/form-data")

    body = response.get_json()
    if missing:
        assert response.status_code == 422, body
        assert body["code"] == "missing_columns"
        assert body["missing"] == missing
        assert all(column in body["message"] for column in missing)
        assert set(body["suggestions"]) <= set(missing)
        assert set(body["suggestions"].values()) <= set(header)
    else:
        assert response.status_code == 202, body
        assert wait_for_upload(api, body["upload_id"])["status"] == "completed"
