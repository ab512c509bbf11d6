"""`make bench-http`: the API under load from wrk (Debian's package), 8 connections, 30 s.

    python benchmarks/http_bench.py [--uploads 1000] [--seconds 30] [--runs 3] [--json OUT]

Against the running stack (`oms-stack up --all`): makes sure at least ``--uploads``
uploads exist (uploading one-row files, 8 at a time) and waits until none is running,
then measures with wrk:
``GET /stats`` and ``GET /orders/<order_id>`` (a Lua script picks a random stored order
per request), and reports wrk's latency percentiles: each the median of ``--runs`` runs,
each run after a 5 s warm-up whose figures are dropped (the API's first thousands of
requests after a start are slower: a first 30 s run right after a restart had p99
46 ms, the next 21 ms). wrk runs one thread (``-t1``), which keeps 8 connections
busy at 2,000 requests/s, so the load generator takes one core at most of the two.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.install import apt_install  # noqa: E402
from devstack.services import api_key  # noqa: E402
from tests.pipeline.rows import to_csv, valid_row  # noqa: E402

API = "http://127.0.0.1:8080"


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        apt_install("wrk")
        found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get installed wrk but it is not on PATH")
    return found


def ensure_uploads(count: int, session: requests.Session) -> int:
    have = session.get(f"{API}/stats", timeout=30).json()["uploads"]["total"]

    def one(_: int) -> None:
        data = to_csv([valid_row(1, prefix=f"HB{uuid.uuid4().hex[:10]}")])
        session.post(
            f"{API}/upload", files={"file": ("one.csv", data, "text/csv")}, timeout=60
        ).raise_for_status()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(max(0, count - have))))
    return int(session.get(f"{API}/stats", timeout=30).json()["uploads"]["total"])


RUNNING = ("queued", "splitting", "processing", "finalizing")


def settle(session: requests.Session, timeout_s: float = 1800) -> None:
    """Wait until no upload is running: the figures are those of a store with that many
    uploads made, not of one that is still processing them."""
    deadline = time.monotonic() + timeout_s
    while True:
        by_status = session.get(f"{API}/stats", timeout=30).json()["uploads"]["by_status"]
        running = sum(by_status[name] for name in RUNNING)
        if not running:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{running} uploads still running after {timeout_s:.0f} s")
        print(f"waiting for {running} running uploads", file=sys.stderr, flush=True)
        time.sleep(10)


def order_ids(session: requests.Session, wanted: int = 2000) -> list[str]:
    ids: list[str] = []
    cursor = None
    while len(ids) < wanted:
        page = session.get(
            f"{API}/orders",
            timeout=60,
            params={"page_size": 200, **({"cursor": cursor} if cursor else {})},
        )
        body = page.json()
        ids.extend(o["order_id"] for o in body["items"])
        cursor = body["next"]
        if not cursor:
            break
    random.Random(3).shuffle(ids)
    return ids


LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)


WARM_UP_S = 5


def measured(
    path_or_script: str, seconds: int, runs: int, key: str, script: Path | None = None
) -> dict:
    """The median of each figure over ``runs`` wrk runs, each after a warm-up."""
    each = []
    for _ in range(runs):
        wrk(path_or_script, WARM_UP_S, key, script)
        each.append(wrk(path_or_script, seconds, key, script))
    return {
        **{
            name: statistics.median(run[name] for run in each)
            for name in each[0]
            if name != "non_2xx"
        },
        "non_2xx": sum(run["non_2xx"] for run in each),
        "runs": each,
    }


def wrk(path_or_script: str, seconds: int, key: str, script: Path | None = None) -> dict:
    argv = [wrk_binary(), "-t1", "-c8", f"-d{seconds}s", "--latency", "-H", f"X-API-Key: {key}"]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(f"{API}{path_or_script}")
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latency = {f"p{p}_ms": round(float(v) * scale[u], 2) for p, v, u in LATENCY.findall(output)}
    requests_s = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        **latency,
        "requests_per_s": float(requests_s.group(1)) if requests_s else None,
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def stats_and_order_latency(
    session: requests.Session, key: str, seconds: int, runs: int
) -> dict[str, dict]:
    """wrk's figures for ``GET /stats`` and for ``GET /orders/<order_id>`` (a random one
    of 2,000 stored orders per request)."""
    results = {"stats": measured("/stats", seconds, runs, key)}
    ids = order_ids(session)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "orders.lua"
        script.write_text(
            "ids = {" + ",".join(json.dumps(i) for i in ids) + "}\n"
            "request = function()\n"
            "  return wrk.format('GET', '/orders/' .. ids[math.random(#ids)])\n"
            "end\n"
        )
        results["order_by_id"] = measured("/", seconds, runs, key, script)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    key = api_key()
    session = requests.Session()
    session.headers["X-API-Key"] = key
    results: dict[str, object] = {"uploads": ensure_uploads(args.uploads, session)}
    settle(session)
    results["orders_stored"] = session.get(f"{API}/stats", timeout=30).json()["orders"]["total"]
    results.update(stats_and_order_latency(session, key, args.seconds, args.runs))
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
