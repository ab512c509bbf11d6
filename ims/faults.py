"""Injected failures, for testing OMS against an IMS that misbehaves (like toxiproxy).

Only on when the service runs with ``IMS_FAULTS=on``; setting and clearing a fault are
writes, so they need the service key. ``PUT /v1/faults/validate`` ``{"status": 500,
"count": N, "sku": optional, "delay_s": optional}`` makes the next N validate calls (only
those asking about ``sku``, when given) answer ``status``, after waiting ``delay_s``
seconds (for timeouts). ``DELETE /v1/faults/validate`` clears it.

The state is a row of the ``faults`` table, so every gunicorn worker sees it, and the
count is exact under concurrency: a failing call claims one of the N failures with a
conditional ``UPDATE ... SET used = used + 1 WHERE used < count``, which PostgreSQL
applies to one caller at a time.
"""

from __future__ import annotations

import functools
import time

from flask import Blueprint, current_app, jsonify, request

from ims.auth import requires_service_key
from ims.db import get_database
from ims.errors import BadRequest, ImsError, NotFound

bp = Blueprint("ims_faults", __name__)
OPERATIONS = {"validate"}


class InjectedFault(ImsError):
    code = "injected_fault"


def _check_enabled(operation: str) -> None:
    if not current_app.config.get("IMS_FAULTS") or operation not in OPERATIONS:
        raise NotFound(f"no fault injection for {operation!r} (IMS_FAULTS is off)")


def _enabled(view):
    """Off means absent: 404 before the key is even asked for."""

    @functools.wraps(view)
    def checked(operation: str):
        _check_enabled(operation)
        return view(operation)

    return checked


@bp.put("/v1/faults/<operation>")
@_enabled
@requires_service_key
def set_fault(operation: str):
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
    with get_database().connection() as conn:
        conn.execute(
            """INSERT INTO faults (operation, status, count, used, sku, delay_s)
               VALUES (%s, %s, %s, 0, %s, %s)
               ON CONFLICT (operation) DO UPDATE
               SET status = EXCLUDED.status, count = EXCLUDED.count, used = 0,
                   sku = EXCLUDED.sku, delay_s = EXCLUDED.delay_s""",
            (operation, status, count, sku or None, delay),
        )
    return jsonify(
        {"operation": operation, "status": status, "count": count, "sku": sku, "delay_s": delay}
    )


@bp.delete("/v1/faults/<operation>")
@_enabled
@requires_service_key
def clear_fault(operation: str):
    with get_database().connection() as conn:
        conn.execute("DELETE FROM faults WHERE operation = %s", (operation,))
    return jsonify({"operation": operation, "cleared": True})


def maybe_fail(operation: str, skus: set[str]) -> None:
    """Raise the injected error if ``operation`` still has failures to give (and the call
    asks about the fault's SKU, when it names one)."""
    if not current_app.config.get("IMS_FAULTS"):
        return
    with get_database().connection() as conn:
        claimed = conn.execute(
            """UPDATE faults SET used = used + 1
               WHERE operation = %s AND used < count AND (sku IS NULL OR sku = ANY(%s))
               RETURNING used, count, status, delay_s""",
            (operation, list(skus)),
        ).fetchone()
    if claimed is None:
        return
    used, count, status, delay = claimed
    if delay:  # a slow answer: the caller's timeout should fire
        time.sleep(delay)
    error = InjectedFault(f"injected failure {used} of {count}")
    error.status = status
    raise error
