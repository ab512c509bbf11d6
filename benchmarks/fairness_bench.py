"""`make bench-fairness`: a 5-row upload sent while a 100k-row upload runs (issue 11).

    python benchmarks/fairness_bench.py [--rows 100000] [--runs 3] [--json OUT]

Against the running stack (`oms-stack up --all`): uploads a generated file of ``--rows``
rows, waits until its chunks are being processed, sends a 5-row file and measures how
long that one takes from upload to completed (target: 10 s). Repeats ``--runs`` times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.services import api_key  # noqa: E402
from tests.pipeline.rows import to_csv, valid_row  # noqa: E402

API = "http://127.0.0.1:8080"


def wait(session: requests.Session, upload_id: str, until, timeout: float = 1800) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        upload = session.get(f"{API}/uploads/{upload_id}", timeout=30).json()
        if until(upload):
            return upload
        time.sleep(0.1)
    raise RuntimeError(f"upload {upload_id} did not get there in {timeout}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    session = requests.Session()
    session.headers["X-API-Key"] = api_key()
    small_seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            big = Path(tmp) / "big.csv"
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "benchmarks" / "generate_orders.py"),
                    str(big),
                    "--rows",
                    str(args.rows),
                    "--prefix",
                    f"FAIR{uuid.uuid4().hex[:6]}",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            with big.open("rb") as handle:
                accepted = session.post(
                    f"{API}/upload", timeout=600, files={"file": ("big.csv", handle, "text/csv")}
                )
            large = accepted.json()["upload_id"]
            wait(session, large, lambda u: u["chunks"]["done"] >= 2)
            small = to_csv([valid_row(n, prefix=f"SMALL{uuid.uuid4().hex[:6]}") for n in range(5)])
            began = time.monotonic()
            sent = session.post(
                f"{API}/upload", timeout=60, files={"file": ("small.csv", small, "text/csv")}
            ).json()
            done = wait(session, sent["upload_id"], lambda u: u["status"] == "completed")
            small_seconds.append(round(time.monotonic() - began, 2))
            large_then = session.get(f"{API}/uploads/{large}", timeout=30).json()
            print(
                f"5-row upload: {small_seconds[-1]} s (valid {done['counts']['valid']}); "
                f"the large one then at {large_then['chunks']['done']}/"
                f"{large_then['chunks']['total']} chunks",
                file=sys.stderr,
            )
            wait(session, large, lambda u: u["status"] in ("completed", "failed"))
    result = {
        "rows_of_the_large_upload": args.rows,
        "small_upload_seconds": small_seconds,
        "median_s": statistics.median(small_seconds),
        "max_s": max(small_seconds),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
