"""The counters ``GET /stats`` reads: one document, kept current as uploads and orders
change, so a read costs one lookup however many uploads were ever made.

Each change adds its delta right after the change itself is stored (an upload created or
moved, a chunk counted, orders moved). Per-upload counts stay the exact source: a
process that dies between its change and this delta leaves the counters short of it
until ``oms.stats.reconcile`` (a beat task) recounts them from the uploads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.collection import Collection

from oms.stores import mongo

STATS_ID = "stats"


def counters_collection() -> Collection[dict[str, Any]]:
    return mongo.db()["counters"]


@mongo.translating
def add(deltas: Mapping[str, int]) -> None:
    """Add ``deltas`` (dotted counter name -> amount) to the stats document."""
    inc = {f"c.{name}": amount for name, amount in deltas.items() if amount}
    if inc:
        mongo.update_one(counters_collection(), {"_id": STATS_ID}, {"$inc": inc}, upsert=True)


def safe(name: str) -> str:
    """A store field name for ``name`` (no '.', no leading '$')."""
    return name.replace(".", "\uff0e").replace("$", "\uff04")


def unsafe(name: str) -> str:
    return name.replace("\uff0e", ".").replace("\uff04", "$")
