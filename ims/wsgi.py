"""WSGI entry point: ``gunicorn -b 127.0.0.1:8081 ims.wsgi:app``.

Settings come from the environment (see ``ims.config``); the catalog is seeded on start-up,
which is idempotent and never resets stock that has moved.
"""

from __future__ import annotations

import logging
import time

from pymongo.errors import ConnectionFailure

from ims.app import create_app, get_store
from ims.catalog import load_catalog
from ims.config import ImsSettings

log = logging.getLogger("ims")


def build_app(settings: ImsSettings, seed_attempts: int = 10):
    app = create_app(
        mongo_uri=settings.mongo_uri,
        db_name=settings.db_name,
        test_config=settings.app_config(),
    )
    if settings.seed_on_start:
        # In docker-compose the database may still be starting: retry briefly, then fail
        # loudly so the process supervisor restarts us.
        for attempt in range(1, seed_attempts + 1):
            try:
                counts = get_store(app).seed(load_catalog())
                log.info("catalog seeded: %s", counts)
                break
            except ConnectionFailure:
                if attempt == seed_attempts:
                    raise
                log.warning("MongoDB not reachable, seeding retry %d", attempt)
                time.sleep(min(2 * attempt, 10))
    return app


app = build_app(ImsSettings.from_env())
