"""Injected failures, for testing OMS against an IMS that misbehaves (like toxiproxy).

Only on when the service runs with ``IMS_FAULTS=on``. ``PUT /v1/faults/validate``
``{"status": 500, "count": N, "sku": optional}`` makes the next N validate calls (only
those asking about ``sku``, when given) answer ``status``;
``"delay_s": S`` makes those calls wait S seconds first (for timeouts).
``DELETE /v1/faults/validate`` clears it. State is in MongoDB so every gunicorn worker
sees it, and the count is exact under concurrency: each failing call claims one of N
unique slots by inserting it (an insert of a duplicate key is atomic, even on FerretDB).
"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify, request
from pymongo.errors import DuplicateKeyError

from ims.errors import BadRequest, ImsError, NotFound

bp = Blueprint("ims_faults", __name__)
FAULTS = "faults"
SLOTS = "fault_slots"
OPERATIONS = {"validate"}


class InjectedFault(ImsError):
    code = "injected_fault"


def _db():
    from ims.app import get_store

    return get_store().db


def _check_enabled(operation: str) -> None:
    if not current_app.config.get("IMS_FAULTS") or operation not in OPERATIONS:
        raise NotFound(f"no fault injection for {operation!r} (IMS_FAULTS is off)")


@bp.put("/v1/faults/<operation>")
def set_fault(operation: str):
    _check_enabled(operation)
    body = request.get_json(silent=True) or {}
    status, count, sku = body.get("status", 500), body.get("count", 1), body.get("sku")
    delay = body.get("delay_s", 0)
    if not (isinstance(delay, (int, float)) and 0 <= delay <= 60):
        raise BadRequest("delay_s must be a number of seconds from 0 to 60")
    if not (isinstance(status, int) and 400 <= status <= 599):
        raise BadRequest("status must be an HTTP error status (400-599)")
    if not (isinstance(count, int) and 0 <= count <= 10_000):
        raise BadRequest("count must be a whole number from 0 to 10000")
    if sku is not None and not isinstance(sku, str):
        raise BadRequest("sku must be a string")
    db = _db()
    db[SLOTS].delete_many({"operation": operation})
    db[FAULTS].replace_one({"_id": operation}, {"_id": operation, "status": status,
                                                "count": count, "sku": sku,
                                                "delay_s": delay}, upsert=True)
    return jsonify({"operation": operation, "status": status, "count": count, "sku": sku,
                    "delay_s": delay})


@bp.delete("/v1/faults/<operation>")
def clear_fault(operation: str):
    _check_enabled(operation)
    db = _db()
    db[FAULTS].delete_one({"_id": operation})
    db[SLOTS].delete_many({"operation": operation})
    return jsonify({"operation": operation, "cleared": True})


def maybe_fail(operation: str, skus: set[str]) -> None:
    """Raise the injected error if ``operation`` still has failures to give (and the call
    asks about the fault's SKU, when it names one)."""
    if not current_app.config.get("IMS_FAULTS"):
        return
    db = _db()
    fault = db[FAULTS].find_one({"_id": operation})
    if not fault or (fault.get("sku") and fault["sku"] not in skus):
        return
    for slot in range(fault["count"]):
        try:
            db[SLOTS].insert_one({"_id": f"{operation}:{slot}", "operation": operation})
        except DuplicateKeyError:
            continue
        if fault.get("delay_s"):  # a slow answer: the caller's timeout should fire
            time.sleep(fault["delay_s"])
        error = InjectedFault(f"injected failure {slot + 1} of {fault['count']}")
        error.status = fault["status"]
        raise error
