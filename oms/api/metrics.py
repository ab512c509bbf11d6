"""GET /metrics: Prometheus text format (what is in it: oms/observability/scrape.py)."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from oms.config import get_settings
from oms.observability import scrape

blp = Blueprint("metrics", __name__, description="Prometheus metrics")


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.response(
        200,
        {"type": "string"},
        content_type="text/plain",
        description="Prometheus text exposition format",
    )
    def get(self) -> Response:
        """Uploads by status, rows by outcome, chunk and IMS latencies, Kafka failures."""
        return Response(scrape.render(get_settings()), content_type=scrape.CONTENT_TYPE)
