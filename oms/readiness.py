"""Readiness: does each external system answer a real request right now?"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from oms.stores import ims, kafka, mongo, s3, sqs

CHECKS: dict[str, Callable[[], None]] = {
    "s3": s3.ping,
    "sqs": sqs.ping,
    "mongodb": mongo.ping,
    "kafka": kafka.ping,
    "ims": ims.ping,
}


def check_all() -> dict[str, str]:
    """name -> "ok" or the reason it failed; all checks run at once, each ~3 s at most."""

    def run(check: Callable[[], None]) -> str:
        try:
            check()
        except Exception as exc:  # noqa: BLE001  (a readiness probe reports any failure)
            return f"{type(exc).__name__}: {exc}"[:300]
        return "ok"

    with ThreadPoolExecutor(max_workers=len(CHECKS)) as pool:
        results = dict(zip(CHECKS, pool.map(run, CHECKS.values()), strict=True))
    return results
