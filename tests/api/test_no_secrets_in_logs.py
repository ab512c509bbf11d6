"""No API key, service key or order row reaches a log line: the API's (gunicorn access and
error log, OMS's JSON lines) and IMS's, after auth failures, a rate-limited address,
rejected uploads holding a customer's email, and refused IMS writes."""

from __future__ import annotations

import pytest
import requests

from oms.config import environ
from tests.conftest import IMS_SERVICE_KEY, RUN_ID
from tests.pipeline.rows import COLUMNS, to_csv, valid_row
from tests.servers import ROOT, gunicorn

pytestmark = pytest.mark.integration

KEY = "no-secrets-in-logs-key-0123456789"
WRONG_KEY = "a-wrong-key-someone-tried-4242"
EMAIL = "leak.check.4242@example.com"


@pytest.fixture(scope="module")
def api_log(settings, ims_service, tmp_path_factory):
    """Run the API (gunicorn) through every failure path, then return its whole log."""
    log = tmp_path_factory.mktemp("logs") / "api.log"
    env = {**environ(settings), "OMS_API_KEYS": KEY, "OMS_AUTH_FAILURES_PER_MINUTE": "4"}
    with gunicorn("oms.api.wsgi:app", log, env=env) as (url, _):
        provoke(url)
    return log.read_text(errors="replace")


def provoke(url: str) -> None:
    row = valid_row(1, prefix="LOG", customer_email=EMAIL)
    missing_sku = to_csv([row], columns=[c for c in COLUMNS if c != "sku"])
    not_csv = b"\x89PNG\r\n\x1a\n" + EMAIL.encode() * 100
    broken = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n\r\n'
        + to_csv([row])
    )
    good = {"X-API-Key": KEY}
    answers = [
        requests.get(f"{url}/uploads", timeout=10),
        requests.get(f"{url}/uploads", headers={"X-API-Key": WRONG_KEY}, timeout=10),
        requests.get(f"{url}/uploads", headers={"X-API-Key": "ключ".encode()}, timeout=10),
        requests.post(
            f"{url}/upload",
            files={"file": ("rows.csv", to_csv([row]), "text/csv")},
            headers={"X-API-Key": WRONG_KEY},
            timeout=10,
        ),
        *(
            requests.get(f"{url}/stats", headers={"X-API-Key": WRONG_KEY}, timeout=10)
            for _ in range(3)
        ),  # past the limit: 429, and a log line naming the address
        requests.post(
            f"{url}/upload", files={"file": ("a.csv", missing_sku, "text/csv")}, headers=good
        ),
        requests.post(
            f"{url}/upload", files={"file": ("b.png", not_csv, "image/png")}, headers=good
        ),
        requests.post(
            f"{url}/upload",
            data=broken,
            headers={**good, "Content-Type": "multipart/form-data; boundary=b"},
            timeout=10,
        ),
        requests.post(
            f"{url}/orders/NO-SUCH-ORDER/cancel", json={"reason": EMAIL}, headers=good, timeout=10
        ),
    ]
    statuses = [a.status_code for a in answers]
    assert statuses == [401, 403, 403, 403, 429, 429, 429, 422, 415, 400, 404], statuses


@pytest.fixture(scope="module")
def ims_log(ims_service):
    """IMS after refused and malformed writes that carry a key and a customer's email."""
    body = {"order_id": EMAIL, "items": [{"sku": EMAIL, "hub_id": "H", "quantity": 1}]}
    refused = requests.post(
        f"{ims_service}/v1/reservations",
        json=body,
        headers={"X-Service-Key": WRONG_KEY},
        timeout=10,
    )
    malformed = requests.post(
        f"{ims_service}/v1/reservations",
        data=EMAIL,
        headers={"X-Service-Key": IMS_SERVICE_KEY, "Content-Type": "application/json"},
        timeout=10,
    )
    assert refused.status_code in (401, 403) and malformed.status_code == 400
    return (ROOT / ".stack" / "logs" / f"test-ims-{RUN_ID}.log").read_text(errors="replace")


def test_the_api_logs_the_failures_without_their_secrets(api_log):
    assert " 403 " in api_log and " 429 " in api_log  # the attempts are there
    assert "failed API-key attempts within a minute" in api_log
    for secret in (KEY, WRONG_KEY, EMAIL):
        assert secret not in api_log, secret


def test_ims_logs_refused_writes_without_keys_or_bodies(ims_log):
    assert "write refused" in ims_log
    for secret in (WRONG_KEY, IMS_SERVICE_KEY, EMAIL):
        assert secret not in ims_log, secret
