"""Failed API-key attempts, counted per client address in Redis, so that every API worker
(and every API process of a deployment) shares one count.

A fixed window of one minute per address: the first failure creates a counter that
expires 60 s later (``SET NX EX``, then ``INCR``, in one transaction); once an address
has more than ``OMS_AUTH_FAILURES_PER_MINUTE`` failures in its window, each further
failure is answered 429 until the counter expires. Only failures are counted and
limited: a request with a correct key never asks Redis, so someone guessing keys from an
address that real clients share (a NAT, a proxy) cannot lock them out.

Counters are named after the deployment's queue prefix, so test namespaces (and two
deployments on one Redis) never share them. When Redis does not answer, the limit fails
open (the attempt gets its 401/403) and the log says so, once a minute per process.
"""

from __future__ import annotations

import logging
import time

import redis

from oms.config import get_settings
from oms.stores.process_local import per_process

log = logging.getLogger(__name__)

WINDOW_S = 60
_last_warning = [float("-inf")]  # monotonic time of this process's last "Redis unavailable" line


@per_process
def _client() -> redis.Redis:
    # Short timeouts: a refused request must not wait long for its counter.
    return redis.Redis.from_url(
        get_settings().redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
    )


def counter_key(address: str) -> str:
    return f"{get_settings().sqs_queue_prefix}auth-failures:{address}"


def record_failure(address: str) -> int | None:
    """Count one failed attempt of ``address``. Returns the seconds until it may try
    again when it is over the limit, else None (answer the 401/403 as usual)."""
    limit = get_settings().auth_failures_per_minute
    if limit == 0:
        return None
    key = counter_key(address)
    try:
        pipe = _client().pipeline(transaction=True)
        pipe.set(key, 0, ex=WINDOW_S, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = pipe.execute()
    except redis.RedisError as exc:
        _warn_unavailable(exc)
        return None
    if count <= limit:
        return None
    if count == limit + 1:
        log.warning(
            "client %s made %d failed API-key attempts within a minute: refused for %d s",
            address,
            count,
            ttl,
            extra={"client": address, "failed_attempts": count},
        )
    return max(1, int(ttl))


def _warn_unavailable(exc: Exception) -> None:
    now = time.monotonic()
    if now - _last_warning[0] >= WINDOW_S:
        _last_warning[0] = now
        log.warning(
            "failed API-key attempts are not limited: Redis did not answer (%s)",
            type(exc).__name__,
        )
