"""Named leases in a MongoDB collection, built on the one primitive every backend makes atomic.

Why not rely on conditional updates alone: FerretDB 1.24 (the local stack) runs
``update``/``findAndModify`` as read, modify in Go, write back, outside a transaction, so
two concurrent ``$inc`` on one document can lose one of them (measured: 200 successful
decrements of a stock of 50 left it at 25). What it does enforce atomically is a unique key
on insert. A lock here is therefore a document inserted under ``_id = key``; it is released
by deleting it. A holder that crashes leaves the document behind; once ``expires_at`` has
passed, the next caller removes it and takes the lock.

Caveat of every lease: a holder paused for longer than the TTL loses the lock without
knowing. ``ensure_held`` lets a holder re-check right before an irreversible write, which
shrinks that window to one statement.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError


class LockTimeout(Exception):
    """The lock stayed held by someone else for longer than the caller would wait."""

    def __init__(self, key: str) -> None:
        super().__init__(f"lock {key!r} is held by another request")
        self.key = key


class LockLost(Exception):
    """The caller's lease expired and was taken over; it must not write."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """MongoClient without tz_aware=True returns naive datetimes that are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Locks:
    def __init__(self, collection: Collection, ttl: float = 10.0) -> None:
        self.collection = collection
        self.ttl = timedelta(seconds=ttl)

    @contextmanager
    def hold(self, key: str, wait: float) -> Iterator[str]:
        """Hold ``key`` for the block; yields the owner token."""
        token = self.acquire(key, wait)
        try:
            yield token
        finally:
            self.release(key, token)

    def acquire(self, key: str, wait: float) -> str:
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait
        delay = 0.002
        quick_retries = 3  # the lock went away under us: try again without sleeping
        while True:
            now = utcnow()
            try:
                self.collection.insert_one(
                    {"_id": key, "owner": token, "expires_at": now + self.ttl}
                )
                return token
            except DuplicateKeyError:
                held = self.collection.find_one({"_id": key})
                if held is not None and as_utc(held["expires_at"]) < now:
                    # The holder crashed (or stalled past its lease): take the lock over.
                    self.collection.delete_one({"_id": key, "owner": held["owner"]})
                    held = None
                if held is None and quick_retries:
                    quick_retries -= 1
                    continue
            if time.monotonic() >= deadline:
                raise LockTimeout(key)
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.05)

    def release(self, key: str, token: str) -> None:
        self.collection.delete_one({"_id": key, "owner": token})

    def ensure_held(self, key: str, token: str) -> None:
        live = {"_id": key, "owner": token, "expires_at": {"$gt": utcnow()}}
        if self.collection.find_one(live, {"_id": 1}) is None:
            raise LockLost(key)
