"""IMS settings, read from the environment here and nowhere else.

The PostgreSQL password is not a setting of ours: libpq reads it from ``PGPASSWORD`` (or
the URL, or ``~/.pgpass``), as for any PostgreSQL client.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_POSTGRES_URL = "postgresql://oms@127.0.0.1:54329/ims"


@dataclass(frozen=True)
class ImsSettings:
    # Any libpq connection string: a postgresql:// URL or "host=... dbname=..." keywords.
    postgres_url: str = DEFAULT_POSTGRES_URL
    # Keys accepted in X-Service-Key on writes; empty refuses every write. Not in repr,
    # so logging the settings never logs a key.
    service_keys: tuple[str, ...] = field(default=(), repr=False)
    seed_on_start: bool = True
    faults: bool = False  # PUT /v1/faults/... (for tests of OMS against a failing IMS)
    max_items: int = 10_000  # per validate call
    max_batch: int = 500  # per reservation batch
    pool_size: int = 4  # connections per process
    # How long a request waits for a pooled connection before answering 503. Not an
    # environment variable: tests shorten it to see a dead server answered quickly.
    pool_timeout_s: float = 5.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ImsSettings:
        """Settings from ``IMS_*`` variables; a bad value raises ValueError naming it."""
        return cls(
            postgres_url=environ.get("IMS_POSTGRES_URL") or DEFAULT_POSTGRES_URL,
            service_keys=_keys(environ.get("IMS_SERVICE_KEYS")),
            seed_on_start=_flag(environ, "IMS_SEED_ON_START", default=True),
            faults=_flag(environ, "IMS_FAULTS", default=False),
            max_items=_positive_int(environ, "IMS_MAX_ITEMS", 10_000),
            max_batch=_positive_int(environ, "IMS_MAX_BATCH", 500),
            pool_size=_positive_int(environ, "IMS_POOL_SIZE", 4),
        )


def _keys(value: str | None) -> tuple[str, ...]:
    return tuple(key.strip() for key in (value or "").split(",") if key.strip())


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    """'1/true/yes/on' and '0/false/no/off'; unset or empty keeps the default."""
    value = (environ.get(name) or "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}: not a boolean: {value!r}")


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    value = (environ.get(name) or "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name}: not a whole number: {value!r}") from None
    if number < 1:
        raise ValueError(f"{name}: must be at least 1, got {number}")
    return number
