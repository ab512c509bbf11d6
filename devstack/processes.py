"""Start, stop and watch the stack's processes: pid files, logs, readiness waits."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from devstack.install import say
from devstack.services import STATE, Service, port_open


def pid_file(name: str) -> Path:
    path = STATE / "run" / f"{name}.pid"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def log_file(name: str) -> Path:
    path = STATE / "logs" / f"{name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def running_pid(name: str) -> int | None:
    try:
        pid = int(pid_file(name).read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def healthy(service: Service) -> str | None:
    """None when the service answers a real request, else the reason it does not."""
    if service.own_process_only and running_pid(service.name) is None:
        return "not running"
    if service.port and not port_open(service.port):
        return f"nothing listens on 127.0.0.1:{service.port}"  # fast; clients would retry
    try:
        service.check()
    except Exception as exc:  # noqa: BLE001  (any failure of the probe means "not ready")
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def start(service: Service) -> bool:
    """Start ``service`` unless it already answers; wait until it does. False if it was
    already up."""
    if healthy(service) is None:
        return False
    if running_pid(service.name) is None:
        launch = service.prepare()
        log = log_file(service.name).open("ab")
        process = subprocess.Popen(
            launch.argv,
            cwd=launch.cwd,
            env={**os.environ, **launch.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives the shell; stopped as a process group
        )
        pid_file(service.name).write_text(str(process.pid))
        say(f"{service.name}: started pid {process.pid}, log {log_file(service.name)}")
    wait_ready(service)
    return True


def wait_ready(service: Service) -> None:
    started = time.monotonic()
    deadline = started + service.start_timeout
    reason = "not checked"
    while time.monotonic() < deadline:
        reason = healthy(service)
        if reason is None:
            say(f"{service.name}: ready on port {service.port} ({time.monotonic() - started:.1f}s)")
            return
        if running_pid(service.name) is None:
            break
        time.sleep(0.5)
    tail = _tail(log_file(service.name))
    raise RuntimeError(
        f"{service.name} did not become ready on port {service.port}: {reason}\n"
        f"last lines of {log_file(service.name)}:\n{tail}"
    )


def stop(name: str, timeout: float = 20.0, stop_signal: int = signal.SIGTERM) -> bool:
    pid = running_pid(name)
    if pid is None:
        pid_file(name).unlink(missing_ok=True)
        return False
    try:
        os.killpg(pid, stop_signal)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and running_pid(name) is not None:
        time.sleep(0.2)
    if running_pid(name) is not None:
        os.killpg(pid, signal.SIGKILL)
    pid_file(name).unlink(missing_ok=True)
    return True


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
