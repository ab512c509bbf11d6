"""Per-process clients that survive Celery's prefork and follow the process's settings.

A client created in the parent (pymongo, librdkafka, urllib3 pools) must not be used in a
forked child: its sockets and threads belong to the parent. ``per_process`` builds the
object lazily on first use, and again in any process whose pid differs from the
builder's, or when the process has been configured with other settings
(``oms.config.configure``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from oms.config import get_settings

T = TypeVar("T")


def per_process(factory: Callable[[], T]) -> Callable[[], T]:
    lock = threading.Lock()
    state: dict[str, object] = {}

    @wraps(factory)
    def get() -> T:
        key = (os.getpid(), get_settings())
        if state.get("key") != key:
            with lock:
                if state.get("key") != key:
                    old = state.get("value")
                    if old is not None and state["key"][0] == key[0]:  # type: ignore[index]
                        # Reconfigured (not forked): the old client is ours to close.
                        getattr(old, "close", lambda: None)()
                    state["value"] = factory()
                    state["key"] = key
        return state["value"]  # type: ignore[return-value]

    return get
