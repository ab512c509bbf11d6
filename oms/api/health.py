"""GET /healthz (the process answers) and GET /readyz (each dependency answers)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from oms.api.schemas import HealthSchema, ReadinessSchema
from oms.readiness import check_all

blp = Blueprint("health", __name__, description="Liveness and readiness")


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, str]:
        """The API process is alive."""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.response(200, ReadinessSchema)
    @blp.alt_response(
        503, schema=ReadinessSchema, description="at least one dependency failed; named in `failed`"
    )
    def get(self) -> tuple[dict[str, Any], int]:
        """S3, SQS, MongoDB, Kafka and IMS each answer a real request."""
        checks = check_all()
        failed = sorted(name for name, result in checks.items() if result != "ok")
        body = {
            "status": "ready" if not failed else "not_ready",
            "checks": checks,
            "failed": failed,
        }
        return body, 200 if not failed else 503
