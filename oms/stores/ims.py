"""Inventory Management Service client: batch SKU/hub validation with a per-process
cache; stock reservations, releases and the feed of stock adjustments."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from oms.config import get_settings
from oms.errors import OMSError, Unavailable
from oms.observability import metrics
from oms.stores.process_local import per_process

Pair = tuple[str, str]  # (sku, hub_id)


@dataclass(frozen=True)
class PairCheck:
    sku_exists: bool
    hub_exists: bool

    @property
    def valid(self) -> bool:
        return self.sku_exists and self.hub_exists


@per_process
def session() -> requests.Session:
    http = requests.Session()
    http.mount("http://", HTTPAdapter(pool_connections=2, pool_maxsize=4))
    http.mount("https://", HTTPAdapter(pool_connections=2, pool_maxsize=4))
    key = get_settings().ims_service_key
    if key:
        http.headers["X-Service-Key"] = key
    return http


class _TTLCache:
    """Answers IMS gave recently, so chunks of one file do not ask the same pairs again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Pair, tuple[float, PairCheck]] = {}

    def get_many(self, pairs: set[Pair], ttl: float) -> dict[Pair, PairCheck]:
        now = time.monotonic()
        with self._lock:
            return {
                p: v
                for p in pairs
                if (e := self._entries.get(p)) and now - e[0] < ttl
                for v in (e[1],)
            }

    def put_many(self, answers: dict[Pair, PairCheck]) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._entries) > 200_000:
                self._entries.clear()
            self._entries.update({p: (now, v) for p, v in answers.items()})

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


cache = _TTLCache()


def ping() -> None:
    settings = get_settings()
    try:
        response = session().get(f"{settings.ims_url}/healthz", timeout=3)
    except requests.RequestException as exc:
        raise Unavailable(f"IMS unreachable: {exc}") from exc
    if response.status_code != 200:
        raise Unavailable(f"IMS health check answered {response.status_code}")


MAX_ITEMS_PER_CALL = 10_000  # IMS refuses larger validate calls (413)


MAX_ID_CHARS = 128  # IMS refuses longer skus and hub ids (400): none exists
MAX_BODY_BYTES = 1024 * 1024  # IMS refuses bodies over 8 MiB (413): stay far below


class Refused(OMSError):
    """IMS refused a request as malformed: a bug on this side, not an outage."""


def validate_pairs(pairs: set[Pair]) -> dict[Pair, PairCheck]:
    """Whether each (sku, hub_id) exists, asking IMS for the pairs not cached, in calls of
    at most MAX_ITEMS_PER_CALL items and MAX_BODY_BYTES.

    Raises Unavailable on a timeout, a connection error or a 5xx: the caller retries the
    whole chunk later and never marks rows invalid because IMS was down. A sku or hub id
    longer than any IMS holds is answered "does not exist" without asking.
    """
    settings = get_settings()
    known = cache.get_many(pairs, settings.ims_cache_ttl_s)
    for sku, hub in pairs - known.keys():
        if len(sku) > MAX_ID_CHARS or len(hub) > MAX_ID_CHARS:
            known[(sku, hub)] = _ask_parts(sku, hub)
    missing = sorted(pairs - known.keys())
    for batch in _batches(missing):
        answers = _ask(batch)
        cache.put_many(answers)
        known.update(answers)
    return known


def _ask_parts(sku: str, hub: str) -> PairCheck:
    """One part is too long to exist; ask IMS about the other one alone."""
    sku_ok = len(sku) <= MAX_ID_CHARS
    hub_ok = len(hub) <= MAX_ID_CHARS
    if not (sku_ok or hub_ok):
        return PairCheck(False, False)
    asked = (sku if sku_ok else "", hub if hub_ok else "")
    answer = _ask([asked])[asked]
    return PairCheck(answer.sku_exists and sku_ok, answer.hub_exists and hub_ok)


def _batches(pairs: list[Pair]) -> list[list[Pair]]:
    batches: list[list[Pair]] = [[]]
    size = 0
    for sku, hub in pairs:
        item = len(sku.encode()) + len(hub.encode()) + 32  # JSON around the two strings
        if batches[-1] and (len(batches[-1]) >= MAX_ITEMS_PER_CALL or size + item > MAX_BODY_BYTES):
            batches.append([])
            size = 0
        batches[-1].append((sku, hub))
        size += item
    return [batch for batch in batches if batch]


def _ask(pairs: list[Pair]) -> dict[Pair, PairCheck]:
    settings = get_settings()
    body = {"items": [{"sku": sku, "hub_id": hub} for sku, hub in pairs]}
    try:
        with metrics.IMS_REQUEST_SECONDS.time():
            response = session().post(
                f"{settings.ims_url}/v1/validate", json=body, timeout=settings.ims_timeout_s
            )
    except requests.RequestException as exc:
        raise Unavailable(f"IMS unreachable: {exc}") from exc
    if response.status_code == 413 and len(pairs) > 1:  # smaller limits than ours: halve
        half = len(pairs) // 2
        return {**_ask(pairs[:half]), **_ask(pairs[half:])}
    if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
        raise Refused(
            f"IMS refused a validate call ({response.status_code}): {response.text[:200]}"
        )
    if response.status_code != 200:
        raise Unavailable(f"IMS answered {response.status_code} to validate: {response.text[:200]}")
    return {
        (item["sku"], item["hub_id"]): PairCheck(bool(item["sku_exists"]), bool(item["hub_exists"]))
        for item in response.json()["items"]
    }


# --- stock: reservations and the inventory feed (writes need OMS_IMS_SERVICE_KEY) ----------

MAX_RESERVATIONS_PER_CALL = 500  # IMS_MAX_BATCH of the reference IMS


@dataclass(frozen=True)
class Reservation:
    """IMS's answer for one order: stock held (``reserved``), or why not."""

    order_id: str
    reserved: bool
    available: int | None
    code: str | None = None  # set when IMS refused the item itself (unknown_sku, ...)
    message: str | None = None


def _post(path: str, body: dict[str, Any]) -> requests.Response:
    settings = get_settings()
    try:
        response = session().post(
            f"{settings.ims_url}{path}", json=body, timeout=settings.ims_timeout_s
        )
    except requests.RequestException as exc:
        raise Unavailable(f"IMS unreachable: {exc}") from exc
    if response.status_code >= 500 or response.status_code in (401, 403, 429):
        # 401/403: a wrong service key is a deployment fault; retry until it is fixed.
        raise Unavailable(f"IMS answered {response.status_code} to {path}: {response.text[:200]}")
    return response


def reserve(items: list[dict[str, Any]]) -> dict[str, Reservation]:
    """Reserve each item (``order_id, sku, hub_id, quantity``) once, atomically and
    idempotently (IMS keys reservations by order_id), in calls of at most
    MAX_RESERVATIONS_PER_CALL. Raises Unavailable when IMS cannot answer."""
    answers: dict[str, Reservation] = {}
    for start in range(0, len(items), MAX_RESERVATIONS_PER_CALL):
        part = items[start : start + MAX_RESERVATIONS_PER_CALL]
        with metrics.IMS_REQUEST_SECONDS.time():
            response = _post("/v1/reservations/batch", {"items": part})
        if response.status_code != 200:
            raise Unavailable(
                f"IMS refused the reservation batch ({response.status_code}): {response.text[:200]}"
            )
        for item in response.json()["items"]:
            order_id = item.get("order_id")
            if order_id is None:
                continue
            held = bool(item.get("reserved")) and item.get("state") == "reserved"
            answers[order_id] = Reservation(
                order_id, held, item.get("available"), item.get("code"), item.get("message")
            )
    return answers


def release(order_id: str) -> bool:
    """Give the order's reserved stock back (once: repeats change nothing). True if this
    call gave stock back."""
    settings = get_settings()
    try:
        response = session().delete(
            f"{settings.ims_url}/v1/reservations/{order_id}", timeout=settings.ims_timeout_s
        )
    except requests.RequestException as exc:
        raise Unavailable(f"IMS unreachable: {exc}") from exc
    if response.status_code != 200:
        raise Unavailable(
            f"IMS answered {response.status_code} to a release: {response.text[:200]}"
        )
    return bool(response.json().get("released"))


def inventory_events(after: int, limit: int = 500) -> tuple[list[dict[str, Any]], int]:
    """Stock adjustments after event ``after``, in order; and the id to ask after next."""
    settings = get_settings()
    try:
        response = session().get(
            f"{settings.ims_url}/v1/inventory/events",
            params={"after": after, "limit": limit},
            timeout=settings.ims_timeout_s,
        )
    except requests.RequestException as exc:
        raise Unavailable(f"IMS unreachable: {exc}") from exc
    if response.status_code != 200:
        raise Unavailable(f"IMS answered {response.status_code} to the inventory feed")
    body = response.json()
    return body["items"], int(body["next_after"])


def available(sku: str, hub_id: str) -> int:
    """Stock of ``sku`` at ``hub_id`` that is not reserved (0 when IMS has no line)."""
    settings = get_settings()
    try:
        response = session().get(
            f"{settings.ims_url}/v1/inventory",
            params={"sku": sku, "hub_id": hub_id},
            timeout=settings.ims_timeout_s,
        )
    except requests.RequestException as exc:
        raise Unavailable(f"IMS unreachable: {exc}") from exc
    if response.status_code != 200:
        raise Unavailable(f"IMS answered {response.status_code} to an inventory read")
    return sum(int(item["available"]) for item in response.json()["items"])
