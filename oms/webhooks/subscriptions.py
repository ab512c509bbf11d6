"""Webhook subscriptions: a URL, the events it wants and the secret its deliveries are
signed with (generated, or given; shown once, when the subscription is made)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pymongo.collection import Collection

from oms.errors import NotFound, OMSError
from oms.stores import mongo
from oms.webhooks.events import EVENTS

MAX_URL_CHARS = 2000
MAX_SUBSCRIPTIONS = 100  # each terminal upload reads them all
SECRET_CHARS = (16, 200)


class BadWebhook(OMSError):
    """A subscription that cannot be made; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def webhooks() -> Collection[dict[str, Any]]:
    return mongo.db()["webhooks"]


def checked_url(url: str) -> str:
    """An http(s) URL with a host, no user:password, at most MAX_URL_CHARS."""
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        raise BadWebhook("url", f"the URL is longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number)
    except ValueError as exc:
        raise BadWebhook("url", f"not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise BadWebhook("url", "the URL must start with http:// or https://")
    if not parts.hostname:
        raise BadWebhook("url", "the URL has no host")
    if parts.username or parts.password:
        raise BadWebhook("url", "the URL may not carry a user or password; use the secret")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise BadWebhook("url", "the URL may not contain spaces or control characters")
    return url


def checked_events(events: list[str]) -> list[str]:
    unknown = sorted({e for e in events if e not in EVENTS})
    if unknown:
        raise BadWebhook(
            "events", f"unknown event {', '.join(unknown)}; the events are {', '.join(EVENTS)}"
        )
    if not events:
        raise BadWebhook("events", f"name at least one event of {', '.join(EVENTS)}")
    return [e for e in EVENTS if e in events]  # each once, in a fixed order


def checked_secret(secret: str | None) -> str:
    if secret is None:
        return "whsec_" + secrets.token_urlsafe(32)
    low, high = SECRET_CHARS
    if not low <= len(secret) <= high or not secret.isprintable() or secret != secret.strip():
        raise BadWebhook(
            "secret", f"a secret is {low} to {high} printable characters, no outer spaces"
        )
    return secret


@mongo.translating
def create(
    url: str, events: list[str], secret: str | None = None, description: str = ""
) -> dict[str, Any]:
    """A new subscription; the document returned is the only one that holds the secret
    for the caller to show."""
    doc = {
        "_id": "wh_" + secrets.token_hex(8),
        "_v": 0,
        "url": checked_url(url),
        "events": checked_events(events),
        "secret": checked_secret(secret),
        "description": description.strip(),
        "created_at": datetime.now(UTC),
    }
    if webhooks().count_documents({}) >= MAX_SUBSCRIPTIONS:
        raise BadWebhook("url", f"at most {MAX_SUBSCRIPTIONS} subscriptions; delete one first")
    webhooks().insert_one(doc)
    return doc


@mongo.translating
def get(webhook_id: str) -> dict[str, Any]:
    doc = webhooks().find_one({"_id": webhook_id})
    if doc is None:
        raise NotFound(f"no webhook {webhook_id!r} (GET /webhooks lists them)")
    return doc


@mongo.translating
def listed() -> list[dict[str, Any]]:
    """Every subscription, oldest first (they are few: MAX_SUBSCRIPTIONS)."""
    return sorted(webhooks().find({}), key=lambda doc: (doc["created_at"], doc["_id"]))


@mongo.translating
def delete(webhook_id: str) -> None:
    """Forget a subscription: its deliveries not made yet are never made."""
    if not webhooks().delete_one({"_id": webhook_id}).deleted_count:
        raise NotFound(f"no webhook {webhook_id!r}")
