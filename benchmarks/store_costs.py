"""What one order costs the local store to read and to update, by the shapes OMS uses.

    python benchmarks/store_costs.py [--blocks 20]

Against the running stack: copies ``--blocks`` listing blocks (50 orders each) of the
newest upload into a scratch collection prepared like ``orders`` (same lookup indexes,
same version trigger), then times, one client, nothing else asked of the store:
``find`` of a block by equality, ``update_many`` of a block (what the finalizer does),
and ``update_one`` by order_id (what every other move does). Drops the scratch
collection at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from oms.orders.store import BLOCK_ROWS, orders
from oms.stores import mongo

SCRATCH = "orders_cost_probe"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=20)
    args = parser.parse_args()
    database = mongo.db()
    newest = database["uploads"].find_one({"status": "completed"}, sort=[("seq", -1)])
    if newest is None:
        print("no completed upload to copy orders from", file=sys.stderr)
        return 2
    blocks = [f"{newest['_id']}:{n}" for n in range(args.blocks)]
    database.drop_collection(SCRATCH)
    scratch = database[SCRATCH]
    for block in blocks:
        docs = list(orders().find({"block": block}))
        if docs:
            scratch.insert_many(docs)
    if mongo.is_ferretdb(database):
        from devstack import ferretdb_store

        ferretdb_store.prepare(database.name, {SCRATCH: mongo.LOOKUPS["orders"]}, (SCRATCH,))
    stored = scratch.count_documents({})
    try:
        began = time.perf_counter()
        for block in blocks:
            list(scratch.find({"block": block}))
        find_s = time.perf_counter() - began
        began = time.perf_counter()
        for block in blocks:
            mongo.update_many(scratch, {"block": block}, {"$set": {"probe": 1}})
        many_s = time.perf_counter() - began
        order_ids = [d["order_id"] for d in scratch.find({"block": blocks[0]})]
        began = time.perf_counter()
        for order_id in order_ids:
            mongo.update_one(scratch, {"order_id": order_id}, {"$set": {"probe": 2}})
        one_s = time.perf_counter() - began
    finally:
        database.drop_collection(SCRATCH)
    result = {
        "orders": stored,
        "orders_per_block": round(stored / len(blocks), 1),
        "block_rows": BLOCK_ROWS,
        "find_block_ms_per_order": round(find_s / stored * 1000, 2),
        "update_many_block_ms_per_order": round(many_s / stored * 1000, 2),
        "update_one_ms_per_order": round(one_s / len(order_ids) * 1000, 2),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
