"""The Flask application factory."""

from __future__ import annotations

from flask import Flask, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from oms.api import (
    auth,
    errors,
    health,
    invalid_files,
    mappings,
    metrics,
    openapi,
    orders,
    page,
    path_segments,
    security_headers,
    slow_clients,
    stats,
    uploads,
    webhooks,
)
from oms.config import Settings, configure, get_settings
from oms.observability.logging import configure_logging, redact_values
from oms.stores import mongo, s3


def create_app(settings: Settings | None = None, *, prepare_stores: bool = True) -> Flask:
    """The API. ``settings`` (default: the process's, from the environment) become the
    process's settings, so the stores it calls use them. ``prepare_stores`` makes sure
    the bucket and the indexes exist first."""
    if settings is not None:
        configure(settings)
    settings = get_settings()
    # Templates in oms/api/templates: the page's, and swagger_ui.html, which takes the
    # place of flask-smorest's (that one has an inline script; security_headers.py).
    app = Flask("oms", template_folder="api/templates")
    path_segments.install(app)
    app.config.update(
        API_TITLE="OMS — Order Management Service",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        # Swagger UI's assets come from the swagger-ui-bundle package: no CDN needed.
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",
        MAX_CONTENT_LENGTH=None,  # the upload stream enforces OMS_MAX_UPLOAD_BYTES itself
        JSON_SORT_KEYS=False,
    )
    app.config["OMS_SETTINGS"] = settings
    configure_logging(settings.log_level)
    redact_values(*settings.api_keys, settings.ims_service_key, settings.aws_secret_access_key)
    openapi.configure(app)
    api = openapi.OmsApi(app, spec_kwargs=openapi.spec_kwargs())
    api.register_converter(path_segments.PrintableSegment, path_segments.parameter_schema)
    openapi.declare(api)
    for blueprint in (
        uploads.blp,
        orders.blp,
        invalid_files.blp,
        mappings.blp,
        webhooks.blp,
        stats.blp,
        health.blp,
        metrics.blp,
    ):
        api.register_blueprint(blueprint)
    app.register_blueprint(page.bp)  # the upload page: not an API resource, not in OpenAPI
    app.add_url_rule("/docs/assets/<path:filename>", "docs_assets", _docs_asset)
    errors.register(app)
    auth.register(app, settings.api_keys)
    security_headers.register(app)
    app.wsgi_app = slow_clients.timed_input(app.wsgi_app)  # type: ignore[method-assign,assignment]
    if prepare_stores:
        mongo.ensure_indexes(local_store_in_child=True)
        s3.ensure_bucket()
    return app


def _docs_asset(filename: str) -> Response:
    return send_from_directory(swagger_ui_path, filename)
