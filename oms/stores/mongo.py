"""MongoDB (FerretDB locally, MongoDB 7 in docker-compose): the client and the indexes."""

from __future__ import annotations

import pymongo
from pymongo.database import Database

from oms.config import get_settings
from oms.stores.process_local import per_process


@per_process
def client() -> pymongo.MongoClient:
    return pymongo.MongoClient(
        get_settings().mongo_uri,
        serverSelectionTimeoutMS=5000,
        tz_aware=True,
        appname="oms",
    )


def db() -> Database:
    return client()[get_settings().mongo_db]


def ensure_indexes() -> None:
    """Indexes the pipeline and the API rely on; idempotent, run at start-up."""
    database = db()
    orders = database["orders"]
    orders.create_index("order_id", unique=True, name="order_id_unique")
    orders.create_index([("status", 1), ("created_at", -1)], name="status_created")
    orders.create_index([("hub_id", 1), ("created_at", -1)], name="hub_created")
    orders.create_index([("upload_id", 1), ("created_at", -1)], name="upload_created")
    database["chunks"].create_index([("upload_id", 1), ("index", 1)], name="upload_chunk")
    database["chunks"].create_index("events_pending", name="events_pending")
    database["uploads"].create_index([("status", 1), ("created_at", -1)],
                                     name="status_created")
    database["uploads"].create_index([("created_at", -1)], name="created")
