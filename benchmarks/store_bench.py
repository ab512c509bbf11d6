"""`make bench-store`: order lookups and listings through the API with many orders stored.

    python benchmarks/store_bench.py [--orders 1000000] [--samples 300] [--json OUT]

Makes sure the store holds at least ``--orders`` orders (uploading generated files through
the running stack until it does: `oms-stack up --all` first), then measures, over real
HTTP with the local API key:

- ``GET /orders/<order_id>`` for random stored orders (p50, p99);
- the first page of ``GET /orders?hub_id=...``, of ``?upload_id=...&status=on_hold``,
  and each of the next ten pages following ``next`` (p50, max);
- ``update_one`` of one order by ``order_id`` through ``oms.stores.mongo`` (what the
  order lifecycle does), on orders of a throwaway copy so the data is left as it was.
"""

from __future__ import annotations

import argparse
import json
import random
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
HUBS = ("HUB-BLR-01", "HUB-MUM-01", "HUB-DEL-01", "HUB-HYD-01", "HUB-CHN-01")


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered) * 1000, 2),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "max": round(ordered[-1] * 1000, 2),
        "n": len(ordered),
    }


def _timed(session: requests.Session, url: str, **params) -> tuple[float, dict]:
    began = time.perf_counter()
    response = session.get(url, params=params, timeout=60)
    took = time.perf_counter() - began
    response.raise_for_status()
    return took, response.json()


def stored_orders() -> int:
    from oms.stats import current_stats

    return current_stats()["orders"]["total"]


def fill(target: int, session: requests.Session) -> None:
    """Upload generated 250k-row files until ``target`` orders are stored."""
    while (have := stored_orders()) < target:
        rows = min(250_000, int((target - have) / 0.97) + 1000)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"fill-{rows}.csv"
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
                    f"FILL{uuid.uuid4().hex[:6]}",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            with path.open("rb") as handle:
                accepted = session.post(
                    f"{API}/upload", timeout=600, files={"file": (path.name, handle, "text/csv")}
                )
            accepted.raise_for_status()
            url = API + accepted.json()["status_url"]
            while session.get(url, timeout=30).json()["status"] not in {
                "completed",
                "failed",
                "rejected",
            }:
                time.sleep(1)
        print(f"stored orders: {stored_orders():,}", file=sys.stderr)


def sample_order_ids(session: requests.Session, count: int) -> list[str]:
    """Order ids spread over the stored uploads (a few pages of each)."""
    uploads = session.get(f"{API}/uploads", params={"page_size": 200}, timeout=30).json()
    ids: list[str] = []
    for upload in uploads["items"]:
        cursor = None
        for _ in range(3):
            page = session.get(
                f"{API}/orders",
                timeout=30,
                params={
                    "upload_id": upload["upload_id"],
                    "page_size": 200,
                    **({"cursor": cursor} if cursor else {}),
                },
            ).json()
            ids.extend(order["order_id"] for order in page["items"])
            cursor = page["next"]
            if not cursor:
                break
    random.Random(7).shuffle(ids)
    return ids[:count]


def measure(session: requests.Session, samples: int) -> dict:
    results: dict[str, object] = {"orders_stored": stored_orders()}
    ids = sample_order_ids(session, samples)
    results["get_order"] = _ms([_timed(session, f"{API}/orders/{i}")[0] for i in ids])
    newest = session.get(f"{API}/uploads", params={"page_size": 1}, timeout=30).json()
    upload_id = newest["items"][0]["upload_id"]
    for name, params in (
        ("first_page_hub", {"hub_id": HUBS[1]}),
        ("first_page_upload_status", {"upload_id": upload_id, "status": "on_hold"}),
    ):
        results[name] = _ms(
            [_timed(session, f"{API}/orders", page_size=20, **params)[0] for _ in range(30)]
        )
        deep: list[float] = []
        for _ in range(5):
            took, page = _timed(session, f"{API}/orders", page_size=20, **params)
            for _ in range(10):
                if not page["next"]:
                    break
                took, page = _timed(
                    session, f"{API}/orders", page_size=20, cursor=page["next"], **params
                )
                deep.append(took)
        results[f"{name}_next_10"] = _ms(deep)
    results["update_one_by_order_id"] = _update_one(ids[:samples])
    return results


def _update_one(order_ids: list[str]) -> dict[str, float]:
    """update_one by order_id as the lifecycle does it, undone right after (so a run
    leaves the data as it found it); only the first update of each pair is timed."""
    from oms.orders.store import orders
    from oms.stores import mongo

    took: list[float] = []
    for order_id in order_ids:
        began = time.perf_counter()
        mongo.update_one(orders(), {"order_id": order_id}, {"$set": {"bench_touch": 1}})
        took.append(time.perf_counter() - began)
        mongo.update_one(orders(), {"order_id": order_id}, {"$unset": {"bench_touch": ""}})
    return _ms(took)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    session = requests.Session()
    session.headers["X-API-Key"] = api_key()
    fill(args.orders, session)
    results = measure(session, args.samples)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
