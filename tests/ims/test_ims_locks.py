"""Leases in MongoDB: exclusive, time-limited, taken over only after they expire."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from ims.locks import LockLost, Locks, LockTimeout, as_utc, utcnow


@pytest.fixture
def locks(db):
    return Locks(db["locks"], ttl=10.0)


def test_acquire_release(locks, db):
    token = locks.acquire("k", wait=0)

    held = db["locks"].find_one({"_id": "k"})
    locks.release("k", token)

    assert held["owner"] == token
    assert db["locks"].count_documents({}) == 0


def test_held_lock_times_out_and_is_left_alone(locks, db):
    token = locks.acquire("k", wait=0)

    started = time.monotonic()
    with pytest.raises(LockTimeout):
        locks.acquire("k", wait=0.2)

    assert time.monotonic() - started >= 0.2
    assert db["locks"].find_one({"_id": "k"})["owner"] == token


def test_release_by_someone_else_does_nothing(locks, db):
    token = locks.acquire("k", wait=0)

    locks.release("k", "not-the-owner")

    assert db["locks"].find_one({"_id": "k"})["owner"] == token


def test_expired_lock_is_taken_over_and_the_old_holder_knows(locks, db):
    old = locks.acquire("k", wait=0)
    db["locks"].update_one(
        {"_id": "k"}, {"$set": {"expires_at": utcnow() - timedelta(seconds=1)}}
    )

    with pytest.raises(LockLost):
        locks.ensure_held("k", old)  # expired: no longer safe to write
    new = locks.acquire("k", wait=0)

    locks.release("k", old)  # the late holder's release must not free the new lease
    assert db["locks"].find_one({"_id": "k"})["owner"] == new
    locks.ensure_held("k", new)
    with pytest.raises(LockLost):
        locks.ensure_held("k", old)


def test_hold_releases_on_error(locks, db):
    with pytest.raises(RuntimeError), locks.hold("k", wait=0):
        raise RuntimeError("boom")

    assert db["locks"].count_documents({}) == 0


def test_mutual_exclusion_under_contention(locks):
    inside = 0
    overlaps = 0
    guard = threading.Lock()

    def work(_):
        nonlocal inside, overlaps
        with locks.hold("hot", wait=10):
            with guard:
                inside += 1
                overlaps += inside > 1
            time.sleep(0.002)
            with guard:
                inside -= 1

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(work, range(48)))

    assert overlaps == 0


def test_as_utc_reads_naive_datetimes_as_utc():
    naive = datetime(2025, 1, 31, 12, 0)

    assert as_utc(naive).utcoffset() == timedelta(0)
    assert as_utc(naive).hour == 12
