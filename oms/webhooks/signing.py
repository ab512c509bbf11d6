"""Signing a delivery: HMAC-SHA256 of ``f"{timestamp}.{body}"`` with the subscription's
secret, sent as ``OMS-Signature: sha256=<hex>`` beside ``OMS-Timestamp`` (Unix seconds).
A receiver recomputes it and refuses a timestamp too old (a replayed request)."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "OMS-Signature"
TIMESTAMP_HEADER = "OMS-Timestamp"
DELIVERY_HEADER = "OMS-Delivery-Id"
EVENT_HEADER = "OMS-Event"
WEBHOOK_HEADER = "OMS-Webhook-Id"
ATTEMPT_HEADER = "OMS-Attempt"


def signature(secret: str, timestamp: int, body: str) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``f"{timestamp}.{body}"``."""
    message = f"{timestamp}.{body}".encode()
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: str, given: str) -> bool:
    """What a receiver does (also used by the tests)."""
    try:
        expected = signature(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, given)


def headers(
    *, secret: str, timestamp: int, body: str, webhook_id: str, delivery: dict, attempt: int
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "oms-webhooks/1",
        WEBHOOK_HEADER: webhook_id,
        DELIVERY_HEADER: delivery["_id"],
        EVENT_HEADER: delivery["event"],
        ATTEMPT_HEADER: str(attempt),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
