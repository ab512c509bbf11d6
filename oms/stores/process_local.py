"""Per-process singletons that survive Celery's prefork.

A client created in the parent (pymongo, librdkafka, urllib3 pools) must not be used in a
forked child: its sockets and threads belong to the parent. ``per_process`` builds the
object lazily on first use and again in any process whose pid differs from the builder's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

T = TypeVar("T")


def per_process(factory: Callable[[], T]) -> Callable[[], T]:
    lock = threading.Lock()
    state: dict[str, object] = {}

    @wraps(factory)
    def get() -> T:
        pid = os.getpid()
        if state.get("pid") != pid:
            with lock:
                if state.get("pid") != pid:
                    state["value"] = factory()
                    state["pid"] = pid
        return state["value"]  # type: ignore[return-value]

    return get
