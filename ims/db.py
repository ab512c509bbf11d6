"""PostgreSQL connections for IMS: one psycopg pool per process, made on first use.

gunicorn forks its workers; a libpq connection or a pool's threads do not survive a fork,
so the pool is made lazily, in the process that uses it, and remade when the process id
changes (an app object built before a fork still works in the child). Run gunicorn without
``--preload`` anyway: then the master never opens a connection at all.

Connections are in autocommit mode; every write runs inside an explicit
``conn.transaction()``, so a request never leaves a transaction open on a pooled
connection.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from flask import Flask, current_app
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

T = TypeVar("T")

ATTEMPTS = 5
EXTENSION = "ims.db"  # key of the app's Database in Flask's app.extensions


class Retry(psycopg.OperationalError):
    """Raised by a transaction's work to roll everything back and run it again. An
    OperationalError, so that when attempts run out the request answers 503."""


# Errors PostgreSQL raises when two transactions collide; running the transaction again
# is the documented remedy. Items are processed in a fixed order so these stay rare.
RETRYABLE = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure, Retry)


class Database:
    """A lazily made, fork-aware connection pool for one libpq connection string."""

    def __init__(self, conninfo: str, *, size: int = 4, timeout: float = 5.0) -> None:
        self.conninfo = conninfo
        self.size = size
        self.timeout = timeout
        self._pool: ConnectionPool | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def pool(self) -> ConnectionPool:
        if self._pool is None or self._pid != os.getpid():
            with self._lock:
                if self._pool is None or self._pid != os.getpid():
                    # A pool inherited through fork is dropped, not closed: closing it
                    # would end the parent's sessions, whose sockets the child shares.
                    self._pool = self._new_pool()
                    self._pid = os.getpid()
        return self._pool

    def _new_pool(self) -> ConnectionPool:
        pool = ConnectionPool(
            self.conninfo,
            kwargs={"autocommit": True, "connect_timeout": 3, "application_name": "ims"},
            min_size=1,
            max_size=self.size,
            timeout=self.timeout,
            # One empty query per checkout: after a server restart, a pooled connection
            # that died is replaced instead of failing the request that got it.
            check=ConnectionPool.check_connection,
            name="ims",
            open=False,
        )
        pool.open(wait=False)  # the server may be down now; requests then answer 503
        return pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        with self.pool().connection() as conn:
            yield conn

    def close(self) -> None:
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None


def get_database(app: Flask | None = None) -> Database:
    """The Database of ``app`` (default: the app handling the current request)."""
    return (app or current_app).extensions[EXTENSION]


def in_transaction(conn: psycopg.Connection, work: Callable[[psycopg.Connection], T]) -> T:
    """Run ``work(conn)`` in one transaction, again from the start after a deadlock, a
    serialization failure or a ``Retry`` (everything it did was rolled back); ``work``
    must therefore have no effect outside the database. When the last attempt fails too,
    its error is raised (an OperationalError: the request answers 503)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with conn.transaction():
                return work(conn)
        except RETRYABLE as exc:
            if attempt == ATTEMPTS:
                raise
            log.info("transaction retried after %s (attempt %d)", type(exc).__name__, attempt)
    raise AssertionError("unreachable")
