"""Webhooks against the running stack: subscriptions through the API, deliveries made by
a real worker to a real HTTP receiver started here, signed, retried, recorded."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid

import pytest

from oms.api.app import create_app
from oms.pipeline import split
from oms.stores import mongo, s3
from oms.uploads import keys
from oms.uploads import repository as repo
from oms.uploads.status import UploadStatus
from oms.webhooks import deliveries, owed, signing
from tests import namespaces
from tests.namespaces import Written, assert_nothing_written
from tests.pipeline.helpers import queued_upload, upload_bytes, wait_for_upload
from tests.pipeline.rows import to_csv, valid_row
from tests.webhooks.receiver import receiver

pytestmark = pytest.mark.integration

MAX_ATTEMPTS = 3


@pytest.fixture(scope="module")
def settings(base_settings):
    """The module's namespace, with quick retries (the module's worker gets them too)."""
    quick = dataclasses.replace(
        base_settings,
        webhook_max_attempts=MAX_ATTEMPTS,
        webhook_retry_base_s=0.5,
        webhook_timeout_s=3.0,
        public_url="http://oms.example:8080",
    )
    with namespaces.namespace(quick) as module_settings:
        yield module_settings


@pytest.fixture(scope="module")
def hooks():
    with receiver() as state:
        yield state


def subscribe(api, url: str, events: list[str], **extra) -> dict:
    response = api.post("/webhooks", json={"url": url, "events": events, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def wait_for_delivery(api, webhook_id: str, status: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = api.get(f"/webhooks/{webhook_id}/deliveries").get_json()
        if found and found[0]["status"] == status:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no {status} delivery of {webhook_id}: {found}")


def assert_signed(request, secret: str) -> dict:
    """The request is signed with ``secret`` over its timestamp and exact body."""
    body = request.body.decode()
    assert request.headers["OMS-Signature"].startswith("sha256=")
    assert signing.verify(
        secret, request.headers["OMS-Timestamp"], body, request.headers["OMS-Signature"]
    )
    assert not signing.verify(
        "not-the-secret-at-all",
        request.headers["OMS-Timestamp"],
        body,
        request.headers["OMS-Signature"],
    )
    assert abs(int(request.headers["OMS-Timestamp"]) - time.time()) < 600
    return json.loads(body)


def test_a_completed_upload_is_told_signed_to_its_subscribers(api, pipeline, hooks):
    hook = subscribe(api, f"{hooks.url}/completed", ["upload.completed"])
    assert hook["secret"].startswith("whsec_") and len(hook["secret"]) > 30
    rows = [valid_row(n, prefix="WHOK") for n in range(3)]
    rows.append(valid_row(3, prefix="WHOK", quantity="-1"))  # one invalid row

    upload = wait_for_upload(api, upload_bytes(api, "told.csv", to_csv(rows))["upload_id"])
    [request] = hooks.wait_for("/completed", 1)

    payload = assert_signed(request, hook["secret"])
    assert upload["status"] == "completed"
    assert request.headers["OMS-Event"] == "upload.completed"
    assert request.headers["OMS-Webhook-Id"] == hook["webhook_id"]
    assert request.headers["OMS-Attempt"] == "1"
    assert request.headers["Content-Type"] == "application/json"
    assert payload["event"] == "upload.completed" and payload["status"] == "completed"
    assert payload["upload_id"] == upload["upload_id"]
    assert payload["filename"] == "told.csv" and payload["check_only"] is False
    assert payload["counts"] == {"rows": 4, "valid": 3, "invalid": 1, "duplicate": 0}
    assert payload["status_url"] == f"http://oms.example:8080/uploads/{upload['upload_id']}"
    assert payload["invalid_file_url"] == f"http://oms.example:8080{upload['invalid_file_url']}"
    assert request.headers["OMS-Delivery-Id"] == f"{payload['event_id']}:{hook['webhook_id']}"
    delivery = wait_for_delivery(api, hook["webhook_id"], "delivered")
    assert delivery["delivery_id"] == request.headers["OMS-Delivery-Id"]
    assert delivery["upload_id"] == upload["upload_id"]
    assert [(a["number"], a["status_code"], a["error"]) for a in delivery["attempts"]] == [
        (1, 200, None)
    ]
    assert delivery["next_attempt_at"] is None and delivery["finished_at"]


def test_a_failing_receiver_gets_the_same_delivery_again_until_it_answers(api, pipeline, hooks):
    hooks.failures["/flaky"] = 2
    hook = subscribe(api, f"{hooks.url}/flaky", ["upload.completed", "upload.failed"])

    wait_for_upload(
        api, upload_bytes(api, "flaky.csv", to_csv([valid_row(0, prefix="WHFL")]))["upload_id"]
    )
    requests = hooks.wait_for("/flaky", 3)
    delivery = wait_for_delivery(api, hook["webhook_id"], "delivered")

    assert len({r.headers["OMS-Delivery-Id"] for r in requests}) == 1  # one delivery
    assert len({r.body for r in requests}) == 1  # the same bytes every time
    assert [r.headers["OMS-Attempt"] for r in requests] == ["1", "2", "3"]
    for request in requests:
        assert_signed(request, hook["secret"])
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
    assert delivery["attempts"][0]["error"] == "the receiver answered 500"
    assert delivery["attempts"][0]["response"] == "boom"
    times = [a["at"] for a in delivery["attempts"]]
    assert times == sorted(times)


def test_a_delivery_that_never_succeeds_ends_failed_after_the_last_attempt(api, pipeline, hooks):
    hooks.failures["/down"] = 10**6
    hook = subscribe(api, f"{hooks.url}/down", ["upload.completed"])

    upload = wait_for_upload(
        api, upload_bytes(api, "down.csv", to_csv([valid_row(0, prefix="WHDN")]))["upload_id"]
    )
    delivery = wait_for_delivery(api, hook["webhook_id"], "failed")

    assert upload["status"] == "completed"  # the receiver's failure is not the upload's
    assert len(delivery["attempts"]) == MAX_ATTEMPTS
    assert {a["status_code"] for a in delivery["attempts"]} == {500}
    time.sleep(2)  # nothing more is sent once it failed
    assert len(hooks.at("/down")) == MAX_ATTEMPTS


def _stored(name: str, data: bytes) -> str:
    upload_id = uuid.uuid4().hex
    key = keys.upload_key(upload_id, name)
    s3.put_bytes(key, data)
    repo.create_upload(upload_id, filename=name, key=key, size=len(data), sha256="-", chunk_rows=10)
    return upload_id


def test_a_rejected_upload_is_told_only_to_those_who_want_rejections(api, pipeline, hooks):
    rejections = subscribe(api, f"{hooks.url}/rejected", ["upload.rejected"])
    completions = subscribe(api, f"{hooks.url}/only-completed", ["upload.completed"])
    upload_id = _stored("legacy.csv", b"tenant_id,sku_id\n1,2\n")

    assert split.split_upload(upload_id).action == "skip"  # rejected: missing columns
    [request] = hooks.wait_for("/rejected", 1)

    payload = assert_signed(request, rejections["secret"])
    assert payload["event"] == "upload.rejected" and payload["upload_id"] == upload_id
    assert payload["error_code"] == "missing_columns"
    assert payload["invalid_file_url"] is None
    assert wait_for_delivery(api, rejections["webhook_id"], "delivered")
    assert not [
        d
        for d in api.get(f"/webhooks/{completions['webhook_id']}/deliveries").get_json()
        if d["upload_id"] == upload_id
    ]
    assert not hooks.at("/only-completed") or all(
        json.loads(r.body)["upload_id"] != upload_id for r in hooks.at("/only-completed")
    )


def test_what_a_crash_after_the_status_change_left_is_delivered_by_the_sweep(
    api, pipeline, hooks, monkeypatch
):
    hook = subscribe(api, f"{hooks.url}/after-crash", ["upload.failed"])
    upload_id = _stored("crash.csv", to_csv([valid_row(0, prefix="WHCR")]))
    # The process dies right after the status change: nothing after it runs.
    monkeypatch.setattr(owed, "notify", lambda *_: None)
    assert repo.transition(upload_id, UploadStatus.FAILED, error="test", error_code="test")
    monkeypatch.undo()
    upload = repo.get_upload(upload_id)
    assert upload["webhooks_owed"] is True and upload["status"] == "failed"
    assert not deliveries.deliveries().find_one({"upload_id": upload_id})

    from workers.webhook_tasks import sweep_webhooks

    assert sweep_webhooks()["recorded"] >= 1  # the beat task, run here
    assert sweep_webhooks()["recorded"] == 0  # once recorded, not again
    [request] = hooks.wait_for("/after-crash", 1)

    payload = assert_signed(request, hook["secret"])
    assert payload["upload_id"] == upload_id and payload["event"] == "upload.failed"
    assert "webhooks_owed" not in repo.get_upload(upload_id)
    assert deliveries.record(upload_id) == []  # recording again is a no-op
    mine = deliveries.deliveries().find({"webhook_id": hook["webhook_id"]})
    assert [d["upload_id"] for d in mine] == [upload_id]  # one, though recorded twice


def test_subscriptions_are_listed_read_and_deleted(api):
    made = subscribe(
        api,
        "https://hooks.example/oms",
        ["upload.failed", "upload.completed"],
        secret="my-own-secret-0123456789",
        description="ops",
    )
    webhook_id = made["webhook_id"]

    listed = api.get("/webhooks").get_json()
    one = api.get(f"/webhooks/{webhook_id}").get_json()
    deleted = api.delete(f"/webhooks/{webhook_id}")

    assert made["secret"] == "my-own-secret-0123456789"
    assert made["events"] == ["upload.completed", "upload.failed"]
    assert webhook_id in [w["webhook_id"] for w in listed]
    assert all("secret" not in w for w in listed) and "secret" not in one
    assert one["url"] == "https://hooks.example/oms" and one["description"] == "ops"
    assert one["deliveries_url"] == f"/webhooks/{webhook_id}/deliveries"
    assert deleted.status_code == 204
    assert api.get(f"/webhooks/{webhook_id}").status_code == 404
    assert api.get(f"/webhooks/{webhook_id}/deliveries").get_json()["code"] == "not_found"
    assert api.delete(f"/webhooks/{webhook_id}").status_code == 404
    assert webhook_id not in [w["webhook_id"] for w in api.get("/webhooks").get_json()]


def _settled(settings, timeout: float = 60) -> Written:
    """What the namespace holds once no message is queued or held: the retries of earlier
    tests' deliveries (held by the worker until due) would change the queue counts."""
    deadline = time.monotonic() + timeout
    while True:
        written = Written.now(settings)
        if written.queued_messages == 0 or time.monotonic() > deadline:
            return written
        time.sleep(0.5)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "ftp://hooks.example/x", "events": ["upload.completed"]}, "url", "http"),
        ({"url": "file:///etc/passwd", "events": ["upload.completed"]}, "url", "http"),
        ({"url": "http://", "events": ["upload.completed"]}, "url", "host"),
        ({"url": "http://u:p@hooks.example/", "events": ["upload.failed"]}, "url", "password"),
        ({"url": "http://hooks.example/", "events": ["upload.exploded"]}, "events", "Must be"),
        ({"url": "http://hooks.example/", "events": []}, "events", "Length"),
        ({"url": "http://hooks.example/"}, "events", "Missing"),
        (
            {"url": "http://hooks.example/", "events": ["upload.failed"], "secret": "short"},
            "secret",
            "Length",
        ),
    ],
)
def test_a_bad_subscription_is_a_clear_422_and_writes_nothing(api, settings, body, field, words):
    before = _settled(settings)

    response = api.post("/webhooks", json=body)

    error = response.get_json()
    assert response.status_code == 422, error
    assert error["code"] == "validation_error"
    assert field in error["fields"]["json"], error
    assert words.lower() in json.dumps(error).lower(), error
    assert_nothing_written(settings, before)


def test_webhooks_need_the_api_key_when_the_api_has_keys(settings):
    locked = create_app(
        dataclasses.replace(settings, api_keys=("wh-key",)), prepare_stores=False
    ).test_client()
    before = Written.now(settings)

    refused = [
        locked.get("/webhooks"),
        locked.post("/webhooks", json={"url": "http://x.example/", "events": ["upload.failed"]}),
        locked.get("/webhooks/wh_x"),
        locked.delete("/webhooks/wh_x"),
        locked.get("/webhooks/wh_x/deliveries"),
    ]
    allowed = locked.get("/webhooks", headers={"X-API-Key": "wh-key"})

    assert [r.status_code for r in refused] == [401] * 5
    assert {r.get_json()["code"] for r in refused} == {"unauthorized"}
    assert allowed.status_code == 200
    assert_nothing_written(settings, before)


def test_the_webhooks_are_in_the_openapi_document_with_their_headers(api):
    spec = api.get("/openapi.json").get_json()

    assert {"get", "post"} <= set(spec["paths"]["/webhooks"])
    assert {"get", "delete"} <= set(spec["paths"]["/webhooks/{webhook_id}"])
    assert "get" in spec["paths"]["/webhooks/{webhook_id}/deliveries"]
    tag = next(t for t in spec["tags"] if t["name"] == "webhooks")
    for header in ("OMS-Signature", "OMS-Timestamp", "OMS-Delivery-Id", "OMS-Event"):
        assert header in tag["description"]
    events = spec["components"]["schemas"]["WebhookArgs"]["properties"]["events"]
    assert events["items"]["enum"] == [
        "upload.completed",
        "upload.failed",
        "upload.rejected",
        "upload.cancelled",
    ]
    assert mongo.LOOKUPS["webhook_deliveries"]  # its queries are indexed


def test_a_cancelled_upload_is_told_to_its_subscribers(api, pipeline, hooks):
    hook = subscribe(api, f"{hooks.url}/cancelled", ["upload.cancelled"])
    upload_id = queued_upload("stopped.csv", [valid_row(0, prefix="WHCNL")])

    cancelled = api.post(f"/uploads/{upload_id}/cancel")
    [request] = hooks.wait_for("/cancelled", 1)

    payload = assert_signed(request, hook["secret"])
    assert cancelled.status_code == 202 and cancelled.get_json()["status"] == "cancelled"
    assert request.headers["OMS-Event"] == "upload.cancelled"
    assert payload["upload_id"] == upload_id and payload["status"] == "cancelled"
