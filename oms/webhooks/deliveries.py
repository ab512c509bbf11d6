"""Deliveries: one document per (event, subscription), its attempts, and the sweep.

A delivery's ``_id`` is ``f"{event_id}:{webhook_id}"``: recording it twice is a no-op,
and it is the ``OMS-Delivery-Id`` a receiver dedupes by. Its body is fixed when it is
recorded, so every attempt sends the same bytes (only the timestamp and signature
change). An attempt takes a lease first (a version-conditioned update), so two tasks for
one delivery make one attempt; a worker that dies holding a lease leaves it to expire
and the sweep sends the delivery again. A pending delivery carries ``pending: True``
(the sweep's equality lookup), removed when it is delivered or failed.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from oms.config import get_settings
from oms.errors import NotFound
from oms.stores import mongo
from oms.webhooks import events, signing, subscriptions

log = logging.getLogger(__name__)

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
MAX_RETRY_WAIT_S = 3600.0
LEASE_MARGIN_S = 10.0
EARLY_S = 1.0  # a task may arrive this much before its due time (clocks of two hosts)
RESPONSE_CHARS = 300  # of a receiver's answer kept with the attempt
LISTED = 50  # deliveries GET /webhooks/<id>/deliveries shows, newest first


def deliveries() -> Collection[dict[str, Any]]:
    return mongo.db()["webhook_deliveries"]


def _uploads() -> Collection[dict[str, Any]]:
    return mongo.db()["uploads"]


def now() -> datetime:
    return datetime.now(UTC)


def delivery_id(event_id: str, webhook_id: str) -> str:
    return f"{event_id}:{webhook_id}"


@mongo.translating
def record(upload_id: str) -> list[str]:
    """Record the deliveries the upload's events owe to today's subscriptions, then clear
    its ``webhooks_owed`` mark; returns the ids of the deliveries to send now. Safe to
    call again (after a crash, by the sweep): what is recorded already stays as it is."""
    upload = _uploads().find_one({"_id": upload_id})
    if upload is None or not upload.get("webhooks_owed"):
        return []
    owed = upload.get("webhook_events", [])[upload.get("webhooks_recorded", 0) :]
    wanted = subscriptions.listed() if owed else []
    stamp = now()
    documents = [
        {
            "_id": delivery_id(event["id"], sub["_id"]),
            "_v": 0,
            "webhook_id": sub["_id"],
            "upload_id": upload_id,
            "event": event["event"],
            "event_id": event["id"],
            "url": sub["url"],
            "body": events.body(events.payload(upload, event)),
            "status": PENDING,
            "pending": True,
            "attempts": [],
            "next_attempt_at": stamp,
            "lease_until": None,
            "created_at": stamp,
            "finished_at": None,
        }
        for event in owed
        for sub in wanted
        if event["event"] in sub["events"]
    ]
    if documents:
        try:
            deliveries().insert_many(documents, ordered=False)
        except BulkWriteError as exc:  # recorded before (a crash, a sweep): those stay
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
    # Conditioned on the version read: an event pushed meanwhile keeps the mark.
    mongo.update_one(
        _uploads(),
        {"_id": upload_id, mongo.VERSION: upload[mongo.VERSION]},
        {
            "$set": {"webhooks_recorded": len(upload.get("webhook_events", []))},
            "$unset": {"webhooks_owed": ""},
        },
    )
    return [doc["_id"] for doc in documents]


def retry_wait(attempts_made: int) -> float:
    """Exponential backoff with equal jitter: OMS_WEBHOOK_RETRY_BASE doubled per attempt
    made (at most an hour), half of it fixed and up to as much again at random."""
    base = get_settings().webhook_retry_base_s
    ceiling = min(MAX_RETRY_WAIT_S, base * 2 ** (attempts_made - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


@mongo.translating
def attempt(delivery_id: str) -> dict[str, Any]:
    """Make the delivery's next attempt if it is due and nobody else is making it.
    Returns ``{"status", ...}``; with ``retry_in`` (seconds) when another attempt is due
    later. Never raises for the receiver's sake: its failure is an attempt recorded."""
    doc = deliveries().find_one({"_id": delivery_id})
    if doc is None:
        return {"status": "missing"}
    if doc["status"] != PENDING:
        return {"status": doc["status"]}
    started = now()
    if doc["next_attempt_at"] > started + timedelta(seconds=EARLY_S):
        return {"status": "not_due"}
    if doc.get("lease_until") and doc["lease_until"] > started:
        return {"status": "in_progress"}
    try:
        subscription = subscriptions.get(doc["webhook_id"])
    except NotFound:
        _finish(doc, FAILED, None)
        return {"status": FAILED, "error": "the subscription was deleted"}
    settings = get_settings()
    lease = started + timedelta(seconds=settings.webhook_timeout_s * 3 + LEASE_MARGIN_S)
    taken = mongo.find_one_and_update(
        deliveries(),
        {"_id": delivery_id, mongo.VERSION: doc[mongo.VERSION]},
        {"$set": {"lease_until": lease}},
    )
    if taken is None:
        return {"status": "in_progress"}  # another task took it
    number = len(doc["attempts"]) + 1
    made = _post(subscription, doc, number, settings.webhook_timeout_s)
    if made["ok"]:
        _finish(doc, DELIVERED, made)
        return {"status": DELIVERED, "attempts": number}
    if number >= settings.webhook_max_attempts:
        _finish(doc, FAILED, made)
        return {"status": FAILED, "attempts": number}
    wait = retry_wait(number)
    mongo.update_one(
        deliveries(),
        {"_id": delivery_id},
        {
            "$push": {"attempts": made["attempt"]},
            "$set": {"next_attempt_at": now() + timedelta(seconds=wait), "lease_until": None},
        },
    )
    return {"status": PENDING, "attempts": number, "retry_in": wait}


def _post(subscription: dict[str, Any], doc: dict[str, Any], number: int, timeout: float) -> dict:
    """One POST; its outcome as an attempt entry (``ok``: the receiver answered 2xx)."""
    at = now()
    timestamp = int(time.time())
    headers = signing.headers(
        secret=subscription["secret"],
        timestamp=timestamp,
        body=doc["body"],
        webhook_id=subscription["_id"],
        delivery=doc,
        attempt=number,
    )
    started = time.monotonic()
    status_code: int | None = None
    error: str | None = None
    answer = ""
    try:
        # No redirects: the subscription names where deliveries go (and a redirect to an
        # internal address would be a way around the URL check).
        with requests.post(
            subscription["url"],
            data=doc["body"].encode(),
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        ) as response:
            status_code = response.status_code
            answer = response.raw.read(RESPONSE_CHARS, decode_content=True).decode(
                "utf-8", "replace"
            )
        if not 200 <= status_code < 300:
            error = f"the receiver answered {status_code}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    except Exception as exc:  # noqa: BLE001  (a receiver's fault is an attempt, never a crash)
        error = f"{type(exc).__name__}: {exc}"[:500]
    attempt_entry = {
        "number": number,
        "at": at,
        "status_code": status_code,
        "error": error,
        "duration_ms": round((time.monotonic() - started) * 1000),
        "response": answer[:RESPONSE_CHARS],
    }
    if error:
        log.warning(
            "webhook delivery %s attempt %s: %s",
            doc["_id"],
            number,
            error,
            extra={"upload_id": doc["upload_id"]},
        )
    return {"ok": error is None, "attempt": attempt_entry}


def _finish(doc: dict[str, Any], status: str, made: dict | None) -> None:
    update: dict[str, Any] = {
        "$set": {"status": status, "finished_at": now(), "lease_until": None},
        "$unset": {"pending": ""},
    }
    if made is not None:
        update["$push"] = {"attempts": made["attempt"]}
    elif status == FAILED:
        update["$set"]["error"] = "the subscription was deleted"
    mongo.update_one(deliveries(), {"_id": doc["_id"]}, update)


@mongo.translating
def sweep() -> tuple[list[str], list[str]]:
    """What a crash or an outage left: uploads whose deliveries were not recorded (they
    are now), and pending deliveries that are due and not being attempted. Returns
    (uploads recorded, deliveries due) so the caller sends the deliveries."""
    recorded = []
    for upload in _uploads().find({"webhooks_owed": True}, {"_id": 1}):
        record(upload["_id"])
        recorded.append(upload["_id"])
    due = []
    stamp = now()
    for doc in deliveries().find({"pending": True}):
        lease = doc.get("lease_until")
        if doc["next_attempt_at"] <= stamp and not (lease and lease > stamp):
            due.append(doc["_id"])
    return recorded, due


@mongo.translating
def listed(webhook_id: str, limit: int = LISTED) -> list[dict[str, Any]]:
    """The subscription's latest deliveries, newest first."""
    found = list(deliveries().find({"webhook_id": webhook_id}, {"body": 0}))
    found.sort(key=lambda doc: (doc["created_at"], doc["_id"]), reverse=True)
    return found[:limit]


@mongo.translating
def get(delivery_id: str) -> dict[str, Any]:
    doc = deliveries().find_one({"_id": delivery_id})
    if doc is None:
        raise NotFound(f"no delivery {delivery_id!r}")
    return doc
