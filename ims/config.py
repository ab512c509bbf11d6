"""IMS settings, read from the environment here and nowhere else."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_MONGO_URI = "mongodb://127.0.0.1:27018"
DEFAULT_DB_NAME = "ims"


@dataclass(frozen=True)
class ImsSettings:
    mongo_uri: str = DEFAULT_MONGO_URI
    db_name: str = DEFAULT_DB_NAME
    seed_on_start: bool = True
    lock_ttl: float = 10.0
    lock_wait: float = 5.0
    stock_locks: bool | None = None  # None: on when the server is FerretDB
    faults: bool = False  # PUT /v1/faults/... (for tests of OMS against a failing IMS)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ImsSettings:
        return cls(
            mongo_uri=environ.get("IMS_MONGO_URI") or DEFAULT_MONGO_URI,
            db_name=environ.get("IMS_DB") or DEFAULT_DB_NAME,
            seed_on_start=_flag(environ.get("IMS_SEED_ON_START"), default=True),
            lock_ttl=float(environ.get("IMS_LOCK_TTL_SECONDS") or 10.0),
            lock_wait=float(environ.get("IMS_LOCK_WAIT_SECONDS") or 5.0),
            stock_locks=_flag(environ.get("IMS_STOCK_LOCKS"), default=None),
            faults=bool(_flag(environ.get("IMS_FAULTS"), default=False)),
        )

    def app_config(self) -> dict[str, object]:
        return {
            "IMS_LOCK_TTL": self.lock_ttl,
            "IMS_LOCK_WAIT": self.lock_wait,
            "IMS_STOCK_LOCKS": self.stock_locks,
            "IMS_FAULTS": self.faults,
        }


def _flag(value: str | None, default: bool | None) -> bool | None:
    """'1/true/yes/on' and '0/false/no/off'; empty or 'auto' keeps the default."""
    if value is None or value.strip().lower() in ("", "auto"):
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")
