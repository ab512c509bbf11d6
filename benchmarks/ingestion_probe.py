"""`make bench-ingestion`: one upload of `make bench`'s generated file, upload to
`completed` only: time to the first stored order, to `completed`, and each service's peak
RSS (the API's while it receives the file). No references and no wait for the
finalizer: the figures of `pipeline_bench.py` that a change of the split or of the API
moves, at the volume issue 12 names, in minutes instead of most of an hour.

    .venv/bin/python benchmarks/ingestion_probe.py --rows 1000000 --workers 2 --json F
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pipeline_bench  # noqa: E402  (a sibling script, not a package)

from devstack.services import api_key  # noqa: E402


def probe(path: Path, expected: dict, session: requests.Session) -> dict:
    run = pipeline_bench.follow_upload(path, expected, session, until_final=False)
    return {
        "upload_id": run.upload["upload_id"],
        "rows": expected["rows"],
        "upload_s": round(run.accepted - run.began, 2),
        "completed_s": round(run.completed - run.began, 1),
        "first_order_after_accepted_s": run.first_order_s and round(run.first_order_s, 2),
        "peak_rss_mb": {name: entry["peak_rss_mb"] for name, entry in run.processes.items()},
        "processes": run.processes,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    session = requests.Session()
    session.headers["X-API-Key"] = api_key()
    result = {
        "commit": pipeline_bench._git("rev-parse", "--short", "HEAD"),
        "machine": pipeline_bench.machine(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "workers": args.workers,
    }
    try:
        pipeline_bench.set_worker_processes(args.workers)
        with tempfile.TemporaryDirectory() as tmp:
            path, expected, _prefix = pipeline_bench.generate(args.rows, Path(tmp))
            result["file_mb"] = round(path.stat().st_size / 1e6, 1)
            result["run"] = probe(path, expected, session)
    finally:
        pipeline_bench.set_worker_processes(2)
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    summary = {k: v for k, v in result["run"].items() if k != "processes"}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
