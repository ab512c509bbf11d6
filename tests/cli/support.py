"""Running the installed `oms` command as a subprocess, as a user would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

OMS = Path(sys.executable).parent / "oms"


def run_oms(
    *args: str,
    api_url: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """``oms [--api-url URL] ARGS``; stdout as bytes, stderr as text."""
    # The user's own OMS_API_URL / OMS_API_KEY must not change what the test runs.
    env = {k: v for k, v in os.environ.items() if k not in ("OMS_API_URL", "OMS_API_KEY")}
    command = [str(OMS), *(["--api-url", api_url] if api_url else []), *args]
    result = subprocess.run(command, capture_output=True, timeout=timeout, env=env, check=False)
    result.stderr = result.stderr.decode()
    return result


def parse_fields(text: str) -> dict[str, str]:
    """The ``label  value`` lines of a detail view (labels may hold single spaces)."""
    pairs = {}
    for line in text.splitlines():
        parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        if len(parts) == 2:
            pairs[parts[0]] = parts[1]
    return pairs


def number(text: str) -> int:
    return int(text.replace(",", ""))
