"""IMS tests run against the local stack's real PostgreSQL (`make stack`).

The session owns one database, ``ims_test_<uuid>``, dropped at the end; every test starts
from freshly created tables seeded with a small fixed catalog (``TEST_CATALOG``), which
gives tests exact stock numbers; the shipped ``ims/catalog.json`` has its own tests.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask

from devstack import postgres
from ims.app import create_app
from ims.config import ImsSettings
from ims.db import get_database
from tests.ims.support import SERVICE_KEY, connect, drop_database, fresh_schema


@pytest.fixture(scope="session")
def ims_database() -> Iterator[str]:
    name = f"ims_test_{uuid.uuid4().hex[:12]}"
    try:
        postgres.ensure_database(name)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL of the local stack not reachable ({exc}); run `make stack`")
    yield name
    drop_database(name)


@pytest.fixture
def db(ims_database: str) -> Iterator[psycopg.Connection]:
    """A connection to the test database, whose tables were just made and seeded."""
    with connect(ims_database) as conn:
        fresh_schema(conn)
        yield conn


@pytest.fixture
def ims_settings(ims_database: str) -> ImsSettings:
    return ImsSettings(
        postgres_url=postgres.conninfo(ims_database),
        service_keys=(SERVICE_KEY,),
        seed_on_start=False,
    )


@pytest.fixture
def make_app(db, ims_settings: ImsSettings) -> Iterator[Callable[..., Flask]]:
    """``make_app(**settings_changes, test_config=None)``: an app over the test database
    (or wherever the changes point); its pool is closed after the test."""
    apps: list[Flask] = []

    def make(test_config: dict[str, Any] | None = None, **changes: Any) -> Flask:
        settings = dataclasses.replace(ims_settings, **changes)
        app = create_app(settings, test_config={"TESTING": True, **(test_config or {})})
        apps.append(app)
        return app

    yield make
    for app in apps:
        get_database(app).close()


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask):
    return app.test_client()
