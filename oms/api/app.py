"""The Flask application factory."""

from __future__ import annotations

import logging

from flask import Flask
from flask_smorest import Api

from oms.api import errors, health, invalid_files, stats, uploads
from oms.config import get_settings
from oms.stores import mongo, s3


def create_app(test_config: dict | None = None) -> Flask:
    settings = get_settings()
    app = Flask("oms")
    app.config.update(
        API_TITLE="OMS — Order Management Service",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=None,  # the upload stream enforces OMS_MAX_UPLOAD_BYTES itself
        JSON_SORT_KEYS=False,
    )
    app.config.update(test_config or {})
    logging.basicConfig(level=settings.log_level)
    api = Api(app)
    for blueprint in (uploads.blp, invalid_files.blp, stats.blp, health.blp):
        api.register_blueprint(blueprint)
    errors.register(app)
    if not app.config.get("SKIP_STARTUP_CHECKS"):
        mongo.ensure_indexes()
        s3.ensure_bucket()
    return app
