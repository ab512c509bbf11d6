"""One generated file's upload through the running local stack, timed: what
`benchmarks/compare_commits.sh` runs on each commit (`make bench` is pipeline_bench.py).

Generates ROWS rows (2 % invalid, quoted newlines, CRLF), uploads them to the API at
127.0.0.1:8080 with the local API key, waits for the upload to finish and prints the wall
time (upload accepted -> completed), rows/s, chunk timings and counts.
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

from devstack.services import api_key

API = "http://127.0.0.1:8080"
HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk-rows", type=int, default=None)
    args = parser.parse_args()
    headers = {"X-API-Key": api_key()}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"bench-{args.rows}.csv"
        began = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                str(HERE / "generate_orders.py"),
                str(path),
                "--rows",
                str(args.rows),
                "--invalid-ratio",
                "0.02",
                "--crlf",
                "--prefix",
                f"BENCH{uuid.uuid4().hex[:6]}",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        expected = json.loads(path.with_name(path.name + ".expected.json").read_text())
        print(
            f"generated {args.rows} rows, {path.stat().st_size / 1e6:.1f} MB "
            f"in {time.monotonic() - began:.1f}s"
        )
        query = {"chunk_rows": args.chunk_rows} if args.chunk_rows else {}
        began = time.monotonic()
        with path.open("rb") as handle:
            response = requests.post(
                f"{API}/upload",
                params=query,
                headers=headers,
                files={"file": (path.name, handle, "text/csv")},
                timeout=600,
            )
        response.raise_for_status()
        uploaded = time.monotonic()
        status_url = API + response.json()["status_url"]
        while True:
            upload = requests.get(status_url, headers=headers, timeout=10).json()
            if upload["status"] in {"completed", "failed", "rejected"}:
                break
            time.sleep(0.2)
        done = time.monotonic()
    chunks = requests.get(
        f"{API}/uploads/{upload['upload_id']}", headers=headers, timeout=10
    ).json()["chunks"]
    total = done - began
    print(
        f"status      {upload['status']}  (counts {upload['counts']}, "
        f"expected valid {expected['valid']} invalid {expected['invalid']})"
    )
    print(f"chunks      {chunks['done']}/{chunks['total']}")
    print(f"upload      {uploaded - began:.1f}s (HTTP, streamed to S3)")
    print(f"processing  {done - uploaded:.1f}s")
    print(f"wall        {total:.1f}s  ->  {args.rows / total:,.0f} rows/s")
    seconds = _chunk_seconds(upload["upload_id"])
    if seconds:
        print(f"chunk time  median {statistics.median(seconds):.2f}s, max {max(seconds):.2f}s")
    return 0 if upload["status"] == "completed" else 1


def _chunk_seconds(upload_id: str) -> list[float]:
    from oms.uploads import repository as repo

    return [c["seconds"] for c in repo.list_chunks(upload_id) if c.get("seconds")]


if __name__ == "__main__":
    sys.exit(main())
