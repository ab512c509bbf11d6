"""Tiny tasks that prove the broker, the workers and the result backend work end to end."""

from celery import shared_task


@shared_task(name="oms.ping")
def ping(value: int) -> dict:
    """Round trip used by the smoke tests and /readyz: the broker and result backend work."""
    return {"pong": value}


@shared_task(name="oms.add")
def add(x: int, y: int) -> int:
    return x + y


@shared_task(name="oms.collect")
def collect(results: list[int]) -> dict:
    """Chord body of the smoke test: sees every header result."""
    return {"count": len(results), "total": sum(results), "values": sorted(results)}
