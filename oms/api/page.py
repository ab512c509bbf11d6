"""GET /: the upload page (one template, one script, one stylesheet; nothing from a CDN).

The page only calls the JSON API, so it needs no state of its own. When the API asks for
a key (``OMS_API_KEYS``), the page and its assets stay open and the script asks the user
for the key once, keeps it in localStorage and sends it on every call.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for

bp = Blueprint(
    "page",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/page-static",
)


@bp.route("/")
def index() -> str:
    """The upload page: drop a CSV, follow its processing, list recent uploads."""
    # Swagger UI is linked only when the app serves it.
    docs_url = (
        url_for("api-docs.openapi_swagger_ui")
        if "api-docs.openapi_swagger_ui" in current_app.view_functions
        else None
    )
    return render_template(
        "page/index.html",
        flower_url=current_app.config["OMS_SETTINGS"].flower_url,
        upload_url=url_for("uploads.Upload"),
        uploads_url=url_for("uploads.Uploads"),
        openapi_url=url_for("api-docs.openapi_json"),
        stats_url=url_for("stats.Stats"),
        docs_url=docs_url,
    )
