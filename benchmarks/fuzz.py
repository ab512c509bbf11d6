"""`make fuzz`: thousands of generated hostile files through the whole pipeline.

    python benchmarks/fuzz.py [--files 10000] [--parallel 6] [--json OUT]

Files come from tests/pipeline/fuzz_files.py (hypothesis); each must end completed, or
refused / rejected with a precise reason (tests/pipeline/fuzz_check.py), never a 5xx, a
failed upload or a hang; the worker must survive them all. Runs in a namespace of its own
with its own worker and IMS (benchmarks/chaos.py's stage). Reports outcomes by code,
whether the worker survived, and its memory (RSS of the main process and each pool
process) afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import chaos  # noqa: E402
from hypothesis import HealthCheck, given, seed  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402

from oms.config import load_settings  # noqa: E402
from tests.pipeline.fuzz_check import outcome_of  # noqa: E402
from tests.pipeline.fuzz_files import order_file  # noqa: E402

BATCH = 500


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument(
        "--parallel", type=int, default=6, help="uploads in flight at once (API clients)"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    from oms.api.app import create_app

    base = load_settings({**os.environ, "OMS_LOG_LEVEL": "WARNING"})
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    began = time.monotonic()
    lock = threading.Lock()
    in_flight = threading.BoundedSemaphore(args.parallel)
    with (
        chaos.stage(base, 0, min_chunk_rows=1) as here,
        ThreadPoolExecutor(args.parallel) as pool,
    ):
        app = create_app(here.settings)

        def check(data: bytes) -> None:
            try:
                found = outcome_of(app.test_client(), data)
            except AssertionError as exc:
                with lock:
                    problems.append(str(exc)[:500])
                return
            finally:
                in_flight.release()
            with lock:
                outcomes[f"{found['outcome']}:{found['code']}"] += 1
                done = sum(outcomes.values())
            if done % 500 == 0:
                print(f"{done} files, {time.monotonic() - began:.0f}s", file=sys.stderr)

        def one(data: bytes) -> None:
            in_flight.acquire()  # hypothesis generates while earlier files are in the pipeline
            pool.submit(check, data)

        # Batches of BATCH files, each from a seed of its own: hypothesis keeps every
        # choice of a run in memory (its data tree), 5 GB after 1,700 files in one run.
        for batch, start in enumerate(range(0, args.files, BATCH)):
            run = hypothesis_settings(
                max_examples=min(BATCH, args.files - start),
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )(seed(batch)(given(data=order_file())(one)))
            run()
        pool.shutdown(wait=True)
        assert here.worker is not None
        alive = here.worker.poll() is None
        memory = {
            "main": rss_mb(here.worker.pid),
            "pool": [rss_mb(child) for child in children(here.worker.pid)],
        }
    log = ROOT / ".stack" / "logs" / f"chaos-worker-{here.settings.sqs_queue_prefix}.log"
    text = log.read_text()
    report = {
        "files": sum(outcomes.values()) + len(problems),
        "outcomes": dict(outcomes),
        "problems": problems[:20],
        "problem_count": len(problems),
        "worker_alive": alive,
        "worker_lost_errors": text.count("WorkerLostError"),
        "worker_rss_mb_after": memory,
        "seconds": round(time.monotonic() - began),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if alive and not problems and not report["worker_lost_errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
