"""Saved column mappings: a name for "this file column is that OMS column", reused with
every upload from the same source (``?mapping_name=``, ``oms upload --mapping NAME``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.collection import Collection

from oms.errors import NotFound
from oms.ingest.header import HeaderError, normalize_mapping
from oms.stores import mongo

MAX_ENTRIES = 50  # columns one mapping may rename


class BadMapping(HeaderError):
    """A mapping that cannot be applied; its message says why."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_mapping", message)


def mappings() -> Collection[dict[str, Any]]:
    return mongo.db()["mappings"]


def checked(columns: Any) -> dict[str, str]:
    """``columns`` as a mapping OMS can apply (file column -> OMS column), normalized."""
    if not isinstance(columns, dict) or not columns:
        raise BadMapping("a mapping is an object of file column -> OMS column, not empty")
    if len(columns) > MAX_ENTRIES:
        raise BadMapping(f"a mapping renames at most {MAX_ENTRIES} columns")
    if not all(isinstance(k, str) and isinstance(v, str) and k.strip() for k, v in columns.items()):
        raise BadMapping("a mapping's column names are non-empty strings")
    try:
        normalized = normalize_mapping(columns)
    except HeaderError as exc:
        raise BadMapping(exc.message) from exc
    targets = list(normalized.values())
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        raise BadMapping(f"the mapping gives {', '.join(twice)} more than one column")
    return normalized


@mongo.translating
def save(name: str, columns: Any) -> dict[str, Any]:
    update = {"$set": {"columns": checked(columns), "saved_at": datetime.now(UTC)}}
    mongo.update_one(mappings(), {"_id": name}, update, upsert=True)
    return get(name)


@mongo.translating
def get(name: str) -> dict[str, Any]:
    doc = mappings().find_one({"_id": name})
    if doc is None:
        raise NotFound(f"no saved mapping named {name!r} (PUT /mappings/{name} saves one)")
    return doc


@mongo.translating
def listed() -> list[dict[str, Any]]:
    return sorted(mappings().find({}), key=lambda doc: doc["_id"])


@mongo.translating
def delete(name: str) -> None:
    if not mappings().delete_one({"_id": name}).deleted_count:
        raise NotFound(f"no saved mapping named {name!r}")
