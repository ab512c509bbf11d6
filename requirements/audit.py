"""`make audit`: pip-audit on the locked requirements, bounded in time, honest when offline.

1. pip-audit reads requirements/main.txt and requirements/dev.txt (hashed, so --disable-pip:
   nothing is installed or resolved) and asks the package index's per-release vulnerability
   data, then OSV if the index's data cannot be had. Each call has a socket timeout and a
   deadline for the whole run (AUDIT_TIMEOUT seconds, default 180), so CI never hangs.
2. Where neither service answers (a network that serves only the package files), the index's
   project JSON still lists the known vulnerabilities of each project's latest release: a
   pin that is the latest release is audited from it, a pin behind it is named as not audited.

Exit 1: a known vulnerability that requirements/audit-ignore.txt does not justify.
Not auditable (service unreachable): a loud warning and exit 0, or exit 2 with AUDIT_STRICT=1.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCKS = [HERE / "main.txt", HERE / "dev.txt"]
IGNORE_FILE = HERE / "audit-ignore.txt"
BUDGET = float(os.environ.get("AUDIT_TIMEOUT", "180"))
DEADLINE = time.monotonic() + BUDGET
SOCKET_TIMEOUT = 15
STRICT = os.environ.get("AUDIT_STRICT", "") not in ("", "0")


def say(msg: str) -> None:
    print(f"[audit] {msg}", flush=True)


def remaining() -> float:
    return DEADLINE - time.monotonic()


def read_ignores() -> dict[str, str]:
    """`ID reason...` per line; an ID without a reason is refused."""
    ignores: dict[str, str] = {}
    if not IGNORE_FILE.exists():
        return ignores
    for n, raw in enumerate(IGNORE_FILE.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        vuln_id, _, reason = line.partition(" ")
        if not reason.strip().lstrip("#").strip():
            sys.exit(f"[audit] {IGNORE_FILE.name}:{n}: {vuln_id} has no reason")
        ignores[vuln_id] = reason.strip().lstrip("#").strip()
    return ignores


def read_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for lock in LOCKS:
        for line in lock.read_text().splitlines():
            m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)", line)
            if m:
                pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(3)
    return pins


def pip_audit(service: str, ignores: dict[str, str]) -> dict | None:
    """The JSON report of one pip-audit run, or None if the service could not be used."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip_audit", "--disable-pip", "--require-hashes"]
        for lock in LOCKS:
            cmd += ["-r", str(lock)]
        cmd += ["-s", service, "--timeout", str(SOCKET_TIMEOUT), "--progress-spinner", "off"]
        cmd += ["-f", "json", "-o", str(out)]
        for vuln_id in ignores:
            cmd += ["--ignore-vuln", vuln_id]
        try:
            # a third of the budget at most, so that the other ways still get their turn
            limit = max(min(remaining(), BUDGET / 3), 1.0)
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            say(f"pip-audit -s {service}: no answer within the deadline")
            return None
        if not out.exists():  # the service raised (unreachable, refused, malformed answer)
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            say(f"pip-audit -s {service}: service not usable: {last[:200]}")
            return None
        report = json.loads(out.read_text())
    deps = report.get("dependencies", [])
    if deps and all("skip_reason" in d for d in deps):
        say(f"pip-audit -s {service}: every one of {len(deps)} pins skipped (no per-release data)")
        return None
    return report


def latest_release_check(pins: dict[str, str], ignores: dict[str, str]) -> tuple[list, list]:
    """(findings, not audited) from the project JSON, which describes the latest release."""
    base = os.environ.get("AUDIT_JSON_API", "")
    if not base:
        from pip._internal.models.index import PyPI  # pip's default index, as the locks use

        base = PyPI.pypi_url

    def one(item: tuple[str, str]) -> tuple[str, str, str | None, list]:
        name, version = item
        if remaining() < 1:
            return name, version, None, []
        try:
            with urllib.request.urlopen(
                f"{base}/{name}/json", timeout=min(SOCKET_TIMEOUT, remaining())
            ) as resp:
                data = json.load(resp)
        except (urllib.error.URLError, OSError, ValueError):
            return name, version, None, []
        return name, version, data["info"]["version"], data.get("vulnerabilities") or []

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, sorted(pins.items())))
    findings, unaudited = [], []
    for name, version, latest, vulns in results:
        if latest != version:
            unaudited.append(f"{name}=={version}" + (f" (latest {latest})" if latest else ""))
            continue
        for v in vulns:
            if v.get("withdrawn"):
                continue
            ids = {v["id"], *v.get("aliases", [])}
            if ids & ignores.keys():
                continue
            findings.append((name, version, v["id"], ", ".join(v.get("fixed_in") or []) or "-"))
    return findings, unaudited


def main() -> int:
    ignores = read_ignores()
    for vuln_id, reason in ignores.items():
        say(f"ignored {vuln_id}: {reason}")
    pins = read_pins()
    for service in ("pypi", "osv"):
        report = pip_audit(service, ignores)
        if report is None:
            continue
        deps = report["dependencies"]
        found = [(d["name"], d["version"], v) for d in deps for v in d.get("vulns", [])]
        skipped = [d["name"] for d in deps if "skip_reason" in d]
        for name, version, v in found:
            fix = ", ".join(v.get("fix_versions") or []) or "-"
            say(f"VULNERABLE {name}=={version}: {v['id']} (fixed in {fix})")
        if skipped:
            say(f"not audited ({len(skipped)}): {' '.join(skipped)}")
        audited = len(deps) - len(skipped)
        say(f"pip-audit -s {service}: {audited} pins audited, {len(found)} known vulnerabilities")
        if found:
            return 1
        return 2 if (skipped and STRICT) else 0
    say("pip-audit could not reach a vulnerability service; checking latest releases instead")
    findings, unaudited = latest_release_check(pins, ignores)
    for name, version, vuln_id, fix in findings:
        say(f"VULNERABLE {name}=={version}: {vuln_id} (fixed in {fix})")
    say(
        f"latest-release check: {len(pins) - len(unaudited)} of {len(pins)} pins audited, "
        f"{len(findings)} known vulnerabilities"
    )
    if unaudited:
        say(f"WARNING: NOT AUDITED ({len(unaudited)}): {', '.join(unaudited)}")
    if findings:
        return 1
    return 2 if (unaudited and STRICT) else 0


if __name__ == "__main__":
    sys.exit(main())
