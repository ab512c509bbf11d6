"""Real HTTP servers for tests: gunicorn on a free loopback port, ready when /healthz
answers, stopped at the end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
# The servers' own settings (gevent worker, head deadline, limits): as devstack and
# docker-compose run them.
GUNICORN_CONFIG = "python:oms.api.gunicorn_conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(
    app: str,
    log: Path,
    port: int | None = None,
    workers: int = 2,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Serve the WSGI ``app`` ("module:attribute"); yields (base URL, process)."""
    port = port or free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            GUNICORN_CONFIG,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            app,
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{app} did not start; see {log}:\n{log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url, process
    finally:
        stop(process)


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL if the process has not ended within ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()


class Moto:
    """A moto server of one test's (or chaos scenario's) own, on a free port: it can be
    killed and started again, losing its state, without touching the stack's moto."""

    def __init__(self, log: Path) -> None:
        from devstack import install

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [*install.moto_server(), "-H", "127.0.0.1", "-p", str(self.port)]
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.command, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{self.url}/moto-api/", timeout=1)
                return
            except requests.RequestException:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not start; see {self.log}") from None
                time.sleep(0.2)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
