"""Calls that wait inside C code (librdkafka), made harmless in a gevent process.

The API runs in gevent workers (``oms/api/server.py``): its greenlets take turns at I/O
that gevent patched (sockets: boto3, pymongo, requests, redis). A call that waits in C
instead, such as confluent-kafka's ``list_topics(timeout=3)`` while the broker is down,
holds the whole worker: no other request of that process moves until it returns; so
does a long pure-CPU call (converting an uploaded workbook to CSV).
``off_event_loop`` runs such a call in gevent's pool of real threads, so only its own
request waits. In a process without gevent (Celery workers, the finalizer, tests) it is
a plain call.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def gevent_patched() -> bool:
    """Whether this process runs under gevent's monkey-patching."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("socket"))


def off_event_loop(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``func(*args, **kwargs)``, in a real thread when gevent is patched. Only for calls
    that touch no gevent-patched lock or socket (a C library's own calls)."""
    if not gevent_patched():
        return func(*args, **kwargs)
    import gevent

    result: T = gevent.get_hub().threadpool.apply(func, args, kwargs)
    return result
