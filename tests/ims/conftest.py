"""IMS tests run against the real local MongoDB-compatible server (FerretDB in `make stack`).

The session owns one database, ``ims_test_<uuid>``, dropped at the end; every test starts
from freshly seeded collections. A small fixed catalog (``TEST_CATALOG``) gives tests exact
stock numbers; the shipped ``ims/catalog.json`` has its own tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError

from ims.app import create_app, get_store
from ims.store import InventoryStore
from tests.ims.support import COLLECTIONS, MONGO_URI, TEST_CATALOG


@pytest.fixture(scope="session")
def mongo_client() -> Iterator[MongoClient]:
    client: MongoClient = MongoClient(
        MONGO_URI, serverSelectionTimeoutMS=3000, tz_aware=True
    )
    try:
        client.admin.command("ping")
    except PyMongoError as exc:
        pytest.fail(
            f"MongoDB-compatible server not reachable at {MONGO_URI} ({exc}); run `make stack`"
        )
    yield client
    client.close()


@pytest.fixture(scope="session")
def ims_db(mongo_client: MongoClient) -> Iterator[Database]:
    name = f"ims_test_{uuid.uuid4().hex[:12]}"
    yield mongo_client[name]
    mongo_client.drop_database(name)


@pytest.fixture
def db(ims_db: Database) -> Database:
    for name in COLLECTIONS:
        ims_db.drop_collection(name)
    return ims_db


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Override in a test module to change app settings."""
    return {"IMS_LOCK_WAIT": 5.0}


@pytest.fixture
def app(db: Database, app_config: dict[str, Any]):
    app = create_app(db=db, test_config={"TESTING": True, **app_config})
    get_store(app).seed(TEST_CATALOG)
    return app


@pytest.fixture
def store(app) -> InventoryStore:
    return get_store(app)


@pytest.fixture
def client(app):
    return app.test_client()
