"""`make bench-finalize`: how fast orders are finalized while a file is ingested.

    python benchmarks/finalize_bench.py [--rows 100000] [--finalizers 1 2] [--json OUT]

Needs the running stack (`oms-stack up --all`); the stack's own finalizer is stopped
first, and this script starts its own `oms-finalizer` processes (1, then 2). For each
count it tops up IMS stock so orders can be confirmed, uploads a generated file, and
measures: ingestion wall time (upload accepted -> completed), finalization wall time
(upload accepted -> no order on hold), the finalization rate, and per order the lag from
its order.created (stored) to its final status (p50, p99). Target (issue 10): all orders
final no later than 1.5 x the ingestion wall time.

A run starts only when the finalizer group has no backlog (order.created events of
earlier uploads, say of `make bench` with no finalizer running): its finalizers would
work through those first. The script says so and exits; `--skip-backlog` moves the
group past the events there are (their orders stay on hold: for a benchmark's store).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from confluent_kafka import TopicPartition

from devstack import processes
from devstack.services import api_key, ims_service_key
from oms.config import get_settings
from oms.orders import events
from oms.orders.finalizer import consumer, lag

API = "http://127.0.0.1:8080"
IMS = "http://127.0.0.1:8081"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _top_up_stock() -> None:
    key = {"X-Service-Key": ims_service_key()}
    for line in requests.get(f"{IMS}/v1/inventory", timeout=30).json()["items"]:
        if line["available"] < 1_000_000:
            requests.post(
                f"{IMS}/v1/inventory/adjust",
                headers=key,
                timeout=30,
                json={
                    "sku": line["sku"],
                    "hub_id": line["hub_id"],
                    "delta": 1_000_000,
                    "reason": "benchmark",
                },
            ).raise_for_status()


def _generate(rows: int, tmp: Path) -> Path:
    path = tmp / f"finalize-{rows}.csv"
    subprocess.run(
        [
            sys.executable,
            str(HERE / "generate_orders.py"),
            str(path),
            "--rows",
            str(rows),
            "--invalid-ratio",
            "0.02",
            "--prefix",
            f"FINB{uuid.uuid4().hex[:6]}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return path


def _lags(upload_id: str) -> list[float]:
    from oms.orders.store import orders

    lags = []
    for order in orders().find({"upload_id": upload_id}, {"status_history": 1}):
        history = order["status_history"]
        if len(history) > 1:
            lags.append((history[1]["at"] - history[0]["at"]).total_seconds())
    return lags


def run_once(rows: int, finalizers: int, session: requests.Session) -> dict:
    _top_up_stock()
    with tempfile.TemporaryDirectory() as tmp:
        path = _generate(rows, Path(tmp))
        env = {**os.environ, "OMS_IMS_SERVICE_KEY": ims_service_key()}
        started = [
            subprocess.Popen(
                [str(ROOT / ".venv" / "bin" / "oms-finalizer")],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(finalizers)
        ]
        try:
            time.sleep(3)  # joined the group
            began = time.monotonic()
            with path.open("rb") as handle:
                accepted = session.post(
                    f"{API}/upload", timeout=600, files={"file": (path.name, handle, "text/csv")}
                )
            accepted.raise_for_status()
            url = API + accepted.json()["status_url"]
            ingested = finalized = None
            while finalized is None:
                upload = session.get(url, timeout=30).json()
                now = time.monotonic() - began
                if ingested is None and upload["status"] == "completed":
                    ingested = now
                if ingested is not None and upload["order_status"]["on_hold"] == 0:
                    finalized = now
                time.sleep(0.2)
        finally:
            for process in started:
                process.terminate()
                process.wait(timeout=30)
    lags = sorted(_lags(upload["upload_id"]))
    valid = upload["counts"]["valid"]
    return {
        "finalizers": finalizers,
        "rows": rows,
        "valid_orders": valid,
        "ingestion_s": round(ingested, 1),
        "all_final_s": round(finalized, 1),
        "ratio_to_ingestion": round(finalized / ingested, 2),
        "finalized_per_s": round(valid / finalized),
        "lag_p50_s": round(statistics.median(lags), 1),
        "lag_p99_s": round(lags[int(len(lags) * 0.99) - 1], 1),
        "order_status": upload["order_status"],
    }


def _skip_backlog() -> None:
    """Commit the group's offsets at the end of each partition of order.created."""
    settings = get_settings()
    topic = settings.topic(events.ORDER_CREATED)
    reader = consumer(settings)
    try:
        partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
        ends = [
            TopicPartition(topic, p, reader.get_watermark_offsets(TopicPartition(topic, p))[1])
            for p in partitions
        ]
        reader.commit(offsets=ends, asynchronous=False)
    finally:
        reader.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--finalizers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--skip-backlog", action="store_true")
    args = parser.parse_args()
    processes.stop("finalizer")  # the stack's own: this script runs its own
    backlog = sum(lag().values())
    if backlog and not args.skip_backlog:
        print(
            f"the finalizer group has {backlog} order.created events to finalize first; "
            "run `oms-stack up --all` until /metrics shows oms_finalizer_lag 0, or pass "
            "--skip-backlog",
            file=sys.stderr,
        )
        return 2
    if backlog:
        _skip_backlog()
    session = requests.Session()
    session.headers["X-API-Key"] = api_key()
    results = [run_once(args.rows, n, session) for n in args.finalizers]
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
