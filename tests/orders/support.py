"""Shared steps of the order lifecycle tests: finalizer processes, stock set to a known
level at the session's IMS, orders read back."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import requests

from oms.config import Settings
from oms.orders.store import block_key, orders
from tests.conftest import IMS_SERVICE_KEY, child_env
from tests.servers import ROOT, stop

IMS_KEY = {"X-Service-Key": IMS_SERVICE_KEY}


def stored_on_hold(prefix: str, count: int, sku: str, hub_id: str) -> list[dict]:
    """``count`` on-hold orders of one new upload's first block (one unit each), stored
    as ingestion leaves them."""
    upload_id = f"{prefix}-{uuid.uuid4().hex[:10]}"
    at = datetime.now(UTC)
    docs = [
        {
            "_id": f"{upload_id}:{n + 2}",
            "_v": 0,
            "order_id": f"{upload_id}-{n}",
            "upload_id": upload_id,
            "row_number": n + 2,
            "block": block_key(upload_id, n),
            "customer": {"name": "F", "email": "f@example.com"},
            "item": {
                "sku": sku,
                "product_name": "P",
                "quantity": 1,
                "unit_price_cents": 500,
                "total_amount_cents": 500,
            },
            "hub_id": hub_id,
            "order_date": at,
            "shipping_address": "1 Road",
            "status": "on_hold",
            "status_history": [{"status": "on_hold", "at": at}],
            "created_at": at,
            "updated_at": at,
        }
        for n in range(count)
    ]
    orders().insert_many(docs)
    return docs


class Finalizer:
    """A real ``oms-finalizer`` process in ``settings``'s namespace."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings = settings
        self.log = ROOT / ".stack" / "logs" / f"test-finalizer-{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Finalizer:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "oms.orders.finalizer"],
            cwd=ROOT,
            env=child_env(self.settings),
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_for_batches(self, count: int, timeout: float = 120) -> None:
        """Wait until this process has logged ``count`` finalized batches. Its own log,
        not the store, tells the progress: reading a few thousand orders back through
        FerretDB takes about a second, in which a finalizer moves a whole test upload."""
        deadline = time.monotonic() + timeout
        while self.log.read_text().count("finalized a batch") < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {count} batches in {self.log} after {timeout}s")
            time.sleep(0.02)

    def kill(self) -> None:
        """kill -9: no chance to commit, close or say goodbye to the group."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop(self.process)


@contextmanager
def finalizers(settings: Settings, count: int = 1) -> Iterator[list[Finalizer]]:
    started = [
        Finalizer(settings, f"{settings.sqs_queue_prefix}{uuid.uuid4().hex[:6]}").start()
        for _ in range(count)
    ]
    try:
        yield started
    finally:
        for finalizer in started:
            finalizer.stop()


def set_available(ims_url: str, sku: str, hub_id: str, wanted: int) -> None:
    """Adjust IMS stock so that exactly ``wanted`` of (sku, hub_id) is available."""
    now = available(ims_url, sku, hub_id)
    if now != wanted:
        response = requests.post(
            f"{ims_url}/v1/inventory/adjust",
            headers=IMS_KEY,
            timeout=10,
            json={
                "sku": sku,
                "hub_id": hub_id,
                "delta": wanted - now,
                "reason": "test sets a known level",
            },
        )
        response.raise_for_status()
    assert available(ims_url, sku, hub_id) == wanted


def available(ims_url: str, sku: str, hub_id: str) -> int:
    return stock(ims_url, sku, hub_id)["available"]


def stock(ims_url: str, sku: str, hub_id: str) -> dict:
    items = requests.get(
        f"{ims_url}/v1/inventory", params={"sku": sku, "hub_id": hub_id}, timeout=10
    ).json()["items"]
    return items[0] if items else {"on_hand": 0, "reserved": 0, "available": 0}


def statuses(upload_id: str) -> Counter[str]:
    return Counter(o["status"] for o in orders().find({"upload_id": upload_id}))


def wait_until_final(upload_id: str, expected: int, timeout: float = 180) -> Counter[str]:
    """Wait until the upload's ``expected`` orders have all left on_hold."""
    deadline = time.monotonic() + timeout
    while True:
        now = statuses(upload_id)
        if sum(now.values()) == expected and now["on_hold"] == 0:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"orders of {upload_id} still {dict(now)} after {timeout}s")
        time.sleep(0.3)


def wait_until_counted(upload_id: str, expected: int, timeout: float = 60) -> dict[str, int]:
    """The upload's order counts once ``expected`` finalizations are counted: the
    finalizer counts a batch after storing its moves, so the counts follow the store."""
    from oms.orders import counts
    from oms.uploads import repository as repo

    deadline = time.monotonic() + timeout
    while True:
        shown = counts.for_upload(repo.get_upload(upload_id))
        if shown["on_hold"] == 0 and sum(shown.values()) >= expected:
            return shown
        if time.monotonic() > deadline:
            raise AssertionError(f"counts of {upload_id} still {shown} after {timeout}s")
        time.sleep(0.3)


def snapshot(upload_id: str) -> dict[str, tuple]:
    """Each order of the upload: its status, version and history length."""
    return {
        o["order_id"]: (o["status"], o["_v"], len(o["status_history"]))
        for o in orders().find({"upload_id": upload_id})
    }


def wait_no_lag(settings: Settings, timeout: float = 120) -> None:
    """Wait until the finalizer group has committed every order.created message."""
    from oms.orders.finalizer import lag

    deadline = time.monotonic() + timeout
    while True:
        behind = lag(settings)
        if behind and not any(behind.values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"finalizer still behind: {behind}")
        time.sleep(0.3)
