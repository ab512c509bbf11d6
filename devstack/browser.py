"""Debian's Chromium for the browser tests (Playwright's own browser download is not used).

``python -m devstack.browser`` installs it with apt-get when missing and prints its path;
the tests launch it through Playwright with ``executable_path=ensure_chromium()`` and
``CHROMIUM_ARGS``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")

# Headless, as root, on a machine without network: no sandbox (it needs a user namespace),
# no GPU, and none of the background calls Chromium makes to Google's servers.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def say(message: str) -> None:
    print(f"[devstack] {message}", file=sys.stderr, flush=True)


def _run(cmd: list[str], env: dict[str, str]) -> None:
    say("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, env=env)


def ensure_chromium() -> str:
    """Return the path of Debian's chromium, installing the package first if missing."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    say("installing chromium from Debian's packages (apt-get) ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run(["apt-get", "update", "-qq"], env)
    _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"], env)
    if not CHROMIUM.exists():
        found = shutil.which("chromium")
        if not found:
            raise RuntimeError("apt-get installed chromium but /usr/bin/chromium is missing")
        return found
    say(f"chromium installed at {CHROMIUM}")
    return str(CHROMIUM)


if __name__ == "__main__":
    print(ensure_chromium())
