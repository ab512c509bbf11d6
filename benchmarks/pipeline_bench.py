"""`make bench`: OMS end to end on generated files, against three references (issue 12).

    python benchmarks/pipeline_bench.py [--rows 100000 1000000] [--workers 1 2] [--runs 3]
        [--naive-rows 2000] [--http-seconds 30] [--json OUT] [--markdown BENCHMARKS.md]

Needs the running stack (`oms-stack up --all`). For each size it generates one seeded
file (2 % invalid rows of every kind, quoted commas and newlines, CRLF, SKUs and hubs of
the IMS catalog); each run uploads a copy whose order_ids carry a fresh prefix (the same
rows otherwise). For each worker count (the stack's chunk worker restarted with that
many processes) and each run it measures, through the real stack: wall time from the
upload's first byte to ``completed`` and to every order final (confirmed or backordered),
time from upload accepted to the first order stored, per-stage time (split; fetch, parse,
validate, ims, insert, publish, invalid_part summed over chunks; finalize the file; finalize
the orders), and the peak RSS and CPU seconds of every process of the stack.

On the same rows and with the same process count it measures the references of
``benchmarks/references.py``: (a) parse+validate only, (b) raw bulk load, (c) the naive
per-row pipeline (on ``--naive-rows`` rows), and reports the ratios to OMS. After the
largest size it measures ``GET /stats`` and ``GET /orders/<order_id>`` with wrk (8
connections, ``--http-seconds``). Figures are medians over the runs; the raw runs are kept
in the JSON. The store keeps what the runs stored (the HTTP figures want the orders).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import finalize_bench  # noqa: E402
import http_bench  # noqa: E402
import procstats  # noqa: E402
import references  # noqa: E402

from devstack.services import api_key, ims_service_key  # noqa: E402
from oms.config import get_settings  # noqa: E402
from oms.orders.finalizer import lag  # noqa: E402

API = "http://127.0.0.1:8080"
STAGES = ("fetch", "parse", "validate", "ims", "insert", "publish", "invalid_part")
ANALYSIS = ROOT / "benchmarks" / "analysis.md"
PREFIX_LENGTH = 8  # generated order_ids start with this many prefix characters


def generate(rows: int, directory: Path) -> tuple[Path, dict, str]:
    prefix = "PB" + uuid.uuid4().hex[: PREFIX_LENGTH - 2].upper()
    path = directory / f"orders-{rows}.csv"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "generate_orders.py"),
            str(path),
            *("--rows", str(rows), "--invalid-ratio", "0.02", "--seed", "1", "--crlf"),
            *("--prefix", prefix),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    expected = json.loads(path.with_name(path.name + ".expected.json").read_text())
    return path, expected, prefix


def renamed_copy(path: Path, prefix: str) -> tuple[Path, str]:
    """The same rows with order_ids under a new prefix of the same length."""
    fresh = "PB" + uuid.uuid4().hex[: PREFIX_LENGTH - 2].upper()
    copy = path.with_name(f"{fresh}-{path.name}")
    copy.write_bytes(path.read_bytes().replace(prefix.encode(), fresh.encode()))
    return copy, fresh


def set_worker_processes(count: int) -> None:
    env = {**os.environ, "OMS_STACK_WORKER_CONCURRENCY": str(count)}
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "oms-stack"), "restart", "worker"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def wait_for_no_backlog(limit_s: float = 1800) -> None:
    deadline = time.monotonic() + limit_s
    while sum(lag().values()):
        if time.monotonic() > deadline:
            raise RuntimeError("the finalizer did not catch up with earlier events")
        time.sleep(2)


class FirstOrder(threading.Thread):
    """Polls the first listing block of every started chunk of the upload until one holds
    an order: when the first order was stored (to about 50 ms)."""

    def __init__(self, upload_id: str, accepted: float) -> None:
        super().__init__(daemon=True)
        self.upload_id, self.accepted = upload_id, accepted
        self.seconds: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        from oms.orders.store import block_key, orders
        from oms.uploads import repository as repo

        while not self.stop.is_set():
            upload = repo.get_upload(self.upload_id)
            chunk_rows = upload.get("chunk_rows")
            if chunk_rows:
                for chunk in repo.list_chunks(self.upload_id):
                    if not chunk.get("attempts"):
                        continue  # not started
                    block = block_key(self.upload_id, chunk["index"] * chunk_rows)
                    if orders().find_one({"block": block}, {"_id": 1}):
                        self.seconds = time.monotonic() - self.accepted
                        return
            time.sleep(0.05)


@dataclass
class Followed:
    """One upload sent and followed to ``completed`` (and, when asked, to every order
    final), with the stack's processes watched meanwhile (``time.monotonic()`` times)."""

    upload: dict
    began: float
    accepted: float
    completed: float
    final: float | None
    first_order_s: float | None
    processes: dict


def follow_upload(
    path: Path, expected: dict, session: requests.Session, *, until_final: bool = True
) -> Followed:
    """Upload ``path``, wait for ``completed`` (and every order final if ``until_final``)
    and check the counts against the generator's ``expected``."""
    with procstats.Watch(procstats.stack_pids()) as watch:
        began = time.monotonic()
        with path.open("rb") as handle:
            response = session.post(
                f"{API}/upload", timeout=1800, files={"file": (path.name, handle, "text/csv")}
            )
        response.raise_for_status()
        accepted = time.monotonic()
        upload_id = response.json()["upload_id"]
        first = FirstOrder(upload_id, accepted)
        first.start()
        completed = final = None
        while final is None:
            upload = session.get(f"{API}/uploads/{upload_id}", timeout=30).json()
            now = time.monotonic()
            if upload["status"] in {"failed", "rejected"}:
                raise RuntimeError(f"upload {upload_id} {upload['status']}: {upload.get('error')}")
            if completed is None and upload["status"] == "completed":
                completed = now
            if completed is not None and (
                not until_final or upload["order_status"]["on_hold"] == 0
            ):
                final = now
            time.sleep(0.2)
        first.stop.set()
        first.join(timeout=5)
    counts = upload["counts"]
    if (counts["valid"], counts["invalid"]) != (expected["valid"], expected["invalid"]):
        raise RuntimeError(f"counts {counts} differ from the file's {expected}")
    return Followed(
        upload,
        began,
        accepted,
        completed,
        final if until_final else None,
        first.seconds,
        watch.report(),
    )


def run_once(path: Path, expected: dict, session: requests.Session) -> dict:
    from oms.uploads import repository as repo

    finalize_bench._top_up_stock()
    wait_for_no_backlog()
    run = follow_upload(path, expected, session)
    upload, began, completed, final = run.upload, run.began, run.completed, run.final
    assert final is not None  # followed until every order was final
    upload_id = upload["upload_id"]
    counts = upload["counts"]
    stored = repo.get_upload(upload_id)
    chunks = repo.list_chunks(upload_id)
    timings = stored["timings"]
    stages = {
        "split": _seconds(timings["split_done_at"] - timings["split_started_at"]),
        **{
            name: round(sum(c.get("stages", {}).get(name, 0.0) for c in chunks), 2)
            for name in STAGES
        },
        "finalize_file": _seconds(timings["finished_at"] - max(c["finished_at"] for c in chunks)),
        "finalize_orders_after_completed": round(final - completed, 1),
    }
    return {
        "upload_id": upload_id,
        "rows": expected["rows"],
        "valid": counts["valid"],
        "upload_s": round(run.accepted - began, 2),
        "completed_s": round(completed - began, 1),
        "all_final_s": round(final - began, 1),
        "rows_per_s": round(expected["rows"] / (completed - began)),
        "first_order_after_accepted_s": run.first_order_s and round(run.first_order_s, 2),
        "chunks": len(chunks),
        "stage_seconds": stages,
        "order_status": upload["order_status"],
        "processes": run.processes,
    }


def _seconds(delta) -> float:
    return round(delta.total_seconds(), 2)


def median_run(runs: list[dict]) -> dict:
    """The run of median completion time, with each headline figure the median of all."""
    ordered = sorted(runs, key=lambda r: r["completed_s"])
    middle = dict(ordered[len(ordered) // 2])
    for name in ("upload_s", "completed_s", "all_final_s", "rows_per_s"):
        middle[name] = statistics.median(r[name] for r in runs)
    firsts = [r["first_order_after_accepted_s"] for r in runs if r["first_order_after_accepted_s"]]
    middle["first_order_after_accepted_s"] = statistics.median(firsts) if firsts else None
    return middle


def peak(run: dict, service: str) -> float:
    """Peak RSS (MB) of the service's largest process (for the worker: its main process or
    a pool process)."""
    return run["processes"].get(service, {}).get("peak_rss_mb", 0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=2000)
    parser.add_argument("--http-seconds", type=int, default=30, help="0: no HTTP figures")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=None,
        help="measure nothing: combine these JSON results (sizes in order, the last HTTP "
        "figures) into --json and --markdown",
    )
    args = parser.parse_args()
    if args.merge:
        return write(merged([json.loads(p.read_text()) for p in args.merge]), args)
    session = requests.Session()
    session.headers["X-API-Key"] = api_key()
    chunk_rows = get_settings().chunk_rows
    env = {"OMS_IMS_SERVICE_KEY": ims_service_key()}  # the references' processes
    results: dict = {
        "machine": machine(),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "store": "FerretDB 1.24 on PostgreSQL 15 (local stack)",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "chunk_rows": chunk_rows,
        "sizes": [],
    }
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for rows in args.rows:
                path, expected, prefix = generate(rows, Path(tmp))
                size: dict = {"rows": rows, "file_mb": round(path.stat().st_size / 1e6, 1)}
                size["by_workers"] = []
                for workers in args.workers:
                    set_worker_processes(workers)
                    entry: dict = {"workers": workers}
                    entry["reference_a_parse_validate"] = references.parse_validate(
                        path, chunk_rows, workers, env
                    )
                    entry["reference_b_bulk_load"] = references.bulk_load(
                        path, chunk_rows, workers, env
                    )
                    entry["reference_c_naive"] = references.naive(
                        path, chunk_rows, workers, args.naive_rows, env
                    )
                    runs = []
                    for _ in range(args.runs):
                        copy, _fresh = renamed_copy(path, prefix)
                        try:
                            runs.append(run_once(copy, expected, session))
                        finally:
                            copy.unlink()
                    entry["runs"] = runs
                    entry["median"] = median_run(runs)
                    entry["ratios"] = ratios(entry)
                    size["by_workers"].append(entry)
                    print(json.dumps(_headline(rows, entry)), flush=True)
                results["sizes"].append(size)
    finally:
        set_worker_processes(2)
    if args.http_seconds:
        results["http"] = http_bench.stats_and_order_latency(
            session, api_key(), args.http_seconds, runs=3
        )
        results["http"]["orders_stored"] = session.get(f"{API}/stats", timeout=30).json()["orders"][
            "total"
        ]
    return write(results, args)


def write(results: dict, args: argparse.Namespace) -> int:
    results["targets"] = targets(results)
    text = json.dumps(results, indent=2, default=str)
    if args.json:
        args.json.write_text(text + "\n")
    if args.markdown:
        args.markdown.write_text(markdown(results))
    print(json.dumps(results["targets"], indent=2))
    return 0


def merged(parts: list[dict]) -> dict:
    """Several invocations' results as one (each keeps its commit and start time).

    The HTTP figures are those taken with the most orders stored: the targets ask for
    them with a million orders in the store.
    """
    out = {**parts[-1], "sizes": [size for part in parts for size in part["sizes"]]}
    out["invocations"] = [
        {
            "commit": p["commit"],
            "started_at": p["started_at"],
            "rows": [s["rows"] for s in p["sizes"]],
        }
        for p in parts
    ]
    http = [p["http"] for p in parts if p.get("http")]
    out["http"] = max(http, key=lambda h: h["orders_stored"]) if http else None
    return out


def ratios(entry: dict) -> dict:
    oms_rate = entry["median"]["rows_per_s"]
    a = entry["reference_a_parse_validate"]["rows_per_s"]
    b = entry["reference_b_bulk_load"]["rows_per_s"]
    c = entry["reference_c_naive"]["rows_per_s"]
    return {
        "oms_over_min_a_b": round(oms_rate / min(a, b), 2),
        "oms_over_c": round(oms_rate / c, 1),
    }


def _headline(rows: int, entry: dict) -> dict:
    m = entry["median"]
    return {
        "rows": rows,
        "workers": entry["workers"],
        "completed_s": m["completed_s"],
        "all_final_s": m["all_final_s"],
        "rows_per_s": m["rows_per_s"],
        "a": entry["reference_a_parse_validate"]["rows_per_s"],
        "b": entry["reference_b_bulk_load"]["rows_per_s"],
        "c": entry["reference_c_naive"]["rows_per_s"],
        **entry["ratios"],
    }


def targets(results: dict) -> list[dict]:
    """Each target of issue 12 with the measured value and whether it is met."""
    found: list[dict] = []

    def target(name: str, value: float | None, limit: float, at_most: bool = True) -> None:
        met = value is not None and (value <= limit if at_most else value >= limit)
        found.append({"target": name, "value": value, "limit": limit, "met": met})

    by_size = {size["rows"]: size for size in results["sizes"]}
    for size in results["sizes"]:
        for entry in size["by_workers"]:
            label = f"{size['rows']:,} rows, {entry['workers']} worker process(es)"
            target(
                f"end to end >= 0.8 x min(a, b), {label}",
                entry["ratios"]["oms_over_min_a_b"],
                0.8,
                at_most=False,
            )
            target(f">= 20 x naive (c), {label}", entry["ratios"]["oms_over_c"], 20, False)
            target(
                f"first order stored <= 2 s after accepted, {label}",
                entry["median"]["first_order_after_accepted_s"],
                2,
            )
    if 1_000_000 in by_size:
        best = by_size[1_000_000]["by_workers"][-1]["median"]
        target("1M rows: upload to completed <= 100 s", best["completed_s"], 100)
        target("1M rows: every order final <= 150 s", best["all_final_s"], 150)
        target("API peak RSS receiving the 1M-row file <= 120 MB", peak(best, "api"), 120)
        if 100_000 in by_size:
            small = by_size[100_000]["by_workers"][-1]["median"]
            ratio = round(peak(best, "worker") / peak(small, "worker"), 2)
            target("worker peak RSS 1M / 100k <= 1.15", ratio, 1.15)
        target("worker peak RSS for 1M rows <= 250 MB", peak(best, "worker"), 250)
    http = results.get("http")
    if not http:
        return found
    target(
        f"GET /stats p99 <= 20 ms ({http['orders_stored']:,} orders)",
        http["stats"].get("p99_ms"),
        20,
    )
    target(
        f"GET /orders/<order_id> p99 <= 50 ms ({http['orders_stored']:,} orders)",
        http["order_by_id"].get("p99_ms"),
        50,
    )
    return found


def machine() -> dict:
    with open("/proc/meminfo") as handle:
        total_kb = int(handle.readline().split()[1])
    model = ""
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(total_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def _git(*argv: str) -> str:
    return subprocess.run(
        ["git", *argv], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`benchmarks/pipeline_bench.py`); the raw runs are in "
        "`benchmarks/results/pipeline_bench.json`. Figures are medians over the runs.",
        "",
        f"- machine: {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, "
        f"Python {m['python']}, Linux {m['kernel']}",
        f"- store: {results['store']}; chunk_rows {results['chunk_rows']}",
        *(
            f"- rows {', '.join(f'{n:,}' for n in i['rows'])}: commit `{i['commit']}`, "
            f"started {i['started_at']}"
            for i in results.get("invocations")
            or [
                {
                    "rows": [s["rows"] for s in results["sizes"]],
                    "commit": results["commit"],
                    "started_at": results["started_at"],
                }
            ]
        ),
        "",
        "## End to end and references",
        "",
        "| rows | worker processes | upload -> completed (s) | all final (s) | rows/s "
        "| first order (s) | (a) parse+validate rows/s | (b) bulk load rows/s "
        "| (c) naive rows/s | OMS / min(a,b) | OMS / c |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in results["sizes"]:
        for entry in size["by_workers"]:
            med = entry["median"]
            lines.append(
                f"| {size['rows']:,} | {entry['workers']} | {med['completed_s']} "
                f"| {med['all_final_s']} | {med['rows_per_s']:,} "
                f"| {med['first_order_after_accepted_s']} "
                f"| {entry['reference_a_parse_validate']['rows_per_s']:,} "
                f"| {entry['reference_b_bulk_load']['rows_per_s']:,} "
                f"| {entry['reference_c_naive']['rows_per_s']:,} "
                f"| {entry['ratios']['oms_over_min_a_b']} | {entry['ratios']['oms_over_c']} |"
            )
    lines += [
        "",
        "## Where the time goes (median run; chunk stages summed over chunks, so over "
        "parallel processes)",
        "",
        "| rows | worker processes | " + " | ".join(_stage_names(results)) + " |",
        "|---|---|" + "---|" * len(_stage_names(results)),
    ]
    for size in results["sizes"]:
        for entry in size["by_workers"]:
            stages = entry["median"]["stage_seconds"]
            lines.append(
                f"| {size['rows']:,} | {entry['workers']} | "
                + " | ".join(str(stages.get(name)) for name in _stage_names(results))
                + " |"
            )
    lines += [
        "",
        "## Peak RSS (MB, largest process of each service) and CPU seconds (all its "
        "processes), median run",
        "",
    ]
    services = sorted(
        {
            name
            for size in results["sizes"]
            for entry in size["by_workers"]
            for name in entry["median"]["processes"]
        }
    )
    lines += [
        "| rows | worker processes | " + " | ".join(services) + " |",
        "|---|---|" + "---|" * len(services),
    ]
    for size in results["sizes"]:
        for entry in size["by_workers"]:
            procs = entry["median"]["processes"]
            cells = [
                f"{procs[s]['peak_rss_mb']} / {procs[s]['cpu_s']} s" if s in procs else "-"
                for s in services
            ]
            lines.append(f"| {size['rows']:,} | {entry['workers']} | " + " | ".join(cells) + " |")
    http = results.get("http") or {"orders_stored": 0, "stats": {}, "order_by_id": {}}
    lines += [
        "",
        f"## HTTP under wrk (8 connections, 1 thread; {http['orders_stored']:,} orders stored)",
        "",
        "| endpoint | p50 ms | p90 ms | p99 ms | requests/s | non-2xx |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in (("stats", "GET /stats"), ("order_by_id", "GET /orders/<order_id>")):
        row = http[name]
        lines.append(
            f"| {label} | {row.get('p50_ms')} | {row.get('p90_ms')} | {row.get('p99_ms')} "
            f"| {row.get('requests_per_s')} | {row.get('non_2xx')} |"
        )
    lines += ["", "## Targets (issue 12)", "", "| target | measured | met |", "|---|---|---|"]
    for t in results["targets"]:
        lines.append(f"| {t['target']} | {t['value']} | {'yes' if t['met'] else 'no'} |")
    if ANALYSIS.exists():  # the written reading of these figures, kept across runs
        lines += ["", ANALYSIS.read_text().rstrip()]
    return "\n".join(lines) + "\n"


def _stage_names(results: dict) -> list[str]:
    return ["split", *STAGES, "finalize_file", "finalize_orders_after_completed"]


if __name__ == "__main__":
    sys.exit(main())
