"""Peak memory and CPU time of the local stack's processes while a benchmark runs.

``Watch({"api": pid, ...})`` samples every ``interval`` seconds, in a thread, each named
process and all its descendants (a Celery worker's pool processes, gunicorn's workers,
PostgreSQL's backends). Linux only (``/proc``).

- Peak RSS is the kernel's high-water mark (``VmHWM``), reset for every watched process
  when the watch starts (``/proc/PID/clear_refs``, root only; without it the mark can
  predate the run and the report says ``"hwm_reset": false``). A process that starts and
  ends between two samples is missed.
- CPU seconds are user + system time, the process's own and its waited-for children's,
  from the start of the watch to its end (processes that ended meanwhile count up to
  their last sample).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class _Seen:
    service: str
    command: str
    peak_kb: int = 0
    cpu_first: float | None = None
    cpu_last: float = 0.0


@dataclass
class Watch:
    roots: dict[str, int]
    interval: float = 0.25
    hwm_reset: bool = True
    _seen: dict[int, _Seen] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Watch:
        for pid in self._tree():
            try:
                with open(f"/proc/{pid}/clear_refs", "w") as handle:
                    handle.write("5")  # resets VmHWM to the current RSS
            except OSError:
                self.hwm_reset = False
        self._sample(initial=True)
        self._thread = threading.Thread(target=self._run, daemon=True, name="procstats")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._sample()

    def report(self) -> dict[str, dict]:
        """Per service: peak RSS of its largest process and of the sum of its processes'
        peaks (MB), CPU seconds, and each process's peak."""
        out: dict[str, dict] = {}
        for pid, seen in sorted(self._seen.items()):
            entry = out.setdefault(
                seen.service,
                {"peak_rss_mb": 0.0, "sum_of_peaks_mb": 0.0, "cpu_s": 0.0, "processes": []},
            )
            peak = round(seen.peak_kb / 1024, 1)
            entry["peak_rss_mb"] = max(entry["peak_rss_mb"], peak)
            entry["sum_of_peaks_mb"] = round(entry["sum_of_peaks_mb"] + peak, 1)
            entry["cpu_s"] = round(entry["cpu_s"] + seen.cpu_last - (seen.cpu_first or 0.0), 2)
            entry["processes"].append({"pid": pid, "command": seen.command, "peak_rss_mb": peak})
        for entry in out.values():
            entry["hwm_reset"] = self.hwm_reset
        return out

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _tree(self) -> dict[int, str]:
        """Every live process under the roots -> the service it belongs to."""
        parents: dict[int, int] = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                stat = _stat(int(name))
                if stat:
                    parents[int(name)] = int(stat[1])
        owner = {pid: service for service, pid in self.roots.items() if pid in parents}
        grown = True
        while grown:
            grown = False
            for pid, parent in parents.items():
                if pid not in owner and parent in owner:
                    owner[pid] = owner[parent]
                    grown = True
        return owner

    def _sample(self, initial: bool = False) -> None:
        for pid, service in self._tree().items():
            stat = _stat(pid)
            hwm = _status_kb(pid, "VmHWM")
            if stat is None or hwm is None:
                continue
            seen = self._seen.get(pid)
            if seen is None:
                seen = self._seen[pid] = _Seen(service, _command(pid))
            cpu = sum(int(v) for v in stat[11:15]) / _TICKS  # utime stime cutime cstime
            if seen.cpu_first is None:
                # One alive when the watch started counts from there; one born since, from 0.
                seen.cpu_first = cpu if initial else 0.0
            seen.cpu_last = cpu
            seen.peak_kb = max(seen.peak_kb, hwm)


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state is [0], ppid [1])."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _status_kb(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace").strip()[:120]
    except OSError:
        return ""


def stack_pids() -> dict[str, int]:
    """The running local stack's services -> main pid."""
    from devstack import processes
    from devstack.services import APP, INFRA

    found = {service.name: processes.running_pid(service.name) for service in INFRA + APP}
    return {name: pid for name, pid in found.items() if pid}
