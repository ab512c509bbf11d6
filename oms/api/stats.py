"""GET /stats."""

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from oms.api.schemas import StatsSchema
from oms.stats import current_stats

blp = Blueprint("stats", __name__, description="Counts of orders and uploads")


@blp.route("/stats")
class Stats(MethodView):
    @blp.response(200, StatsSchema)
    def get(self) -> dict[str, Any]:
        """Orders (total, by status, by hub), uploads by status, rows processed."""
        return current_stats()
