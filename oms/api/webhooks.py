"""Webhook subscriptions and their deliveries: POST and GET /webhooks,
GET and DELETE /webhooks/<id>, GET /webhooks/<id>/deliveries."""

from __future__ import annotations

from typing import Any

from flask import Response, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from oms.api.errors import error_response
from oms.api.schemas import ApiErrorSchema
from oms.api.webhook_schemas import (
    DeliverySchema,
    WebhookArgsSchema,
    WebhookCreatedSchema,
    WebhookSchema,
)
from oms.webhooks import deliveries, subscriptions
from oms.webhooks.events import EVENTS
from oms.webhooks.subscriptions import BadWebhook

DESCRIPTION = f"""Get told when an upload ends: {", ".join(EVENTS)}.

Each delivery is a JSON `POST` to the subscription's URL with these headers:

- `OMS-Webhook-Id`: the subscription
- `OMS-Delivery-Id`: the same at every attempt of one delivery (dedupe by it)
- `OMS-Event`: the event, e.g. `upload.completed`
- `OMS-Attempt`: 1 for the first attempt
- `OMS-Timestamp`: Unix seconds when the attempt was made
- `OMS-Signature`: `sha256=` + hex HMAC-SHA256, keyed with the secret, of
  `"<OMS-Timestamp>.<body>"` (the body's exact bytes)

Any 2xx answer delivers it; anything else (or no answer within `OMS_WEBHOOK_TIMEOUT`
seconds, redirects included) is retried with exponential backoff from
`OMS_WEBHOOK_RETRY_BASE` seconds, up to `OMS_WEBHOOK_MAX_ATTEMPTS` attempts, then the
delivery is `failed`. Every attempt is listed by `GET /webhooks/<id>/deliveries`."""

blp = Blueprint("webhooks", __name__, description=DESCRIPTION)


@blp.errorhandler(BadWebhook)
def bad_webhook(exc: BadWebhook) -> Response:
    return error_response(
        422, "validation_error", exc.message, fields={"json": {exc.field: [exc.message]}}
    )


def present(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "webhook_id": doc["_id"],
        "url": doc["url"],
        "events": doc["events"],
        "description": doc.get("description", ""),
        "created_at": doc["created_at"],
        "deliveries_url": url_for("webhooks.WebhookDeliveries", webhook_id=doc["_id"]),
    }


def present_delivery(doc: dict[str, Any]) -> dict[str, Any]:
    pending = doc["status"] == deliveries.PENDING
    return {
        "delivery_id": doc["_id"],
        "webhook_id": doc["webhook_id"],
        "upload_id": doc["upload_id"],
        "event": doc["event"],
        "event_id": doc["event_id"],
        "status": doc["status"],
        "attempts": doc["attempts"],
        "next_attempt_at": doc["next_attempt_at"] if pending else None,
        "created_at": doc["created_at"],
        "finished_at": doc.get("finished_at"),
        "error": doc.get("error"),
    }


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.response(200, WebhookSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every subscription, oldest first (secrets are never shown again)."""
        return [present(doc) for doc in subscriptions.listed()]

    @blp.arguments(WebhookArgsSchema, location="json")
    @blp.response(201, WebhookCreatedSchema)
    @blp.alt_response(422, schema=ApiErrorSchema, description="a bad URL or unknown event")
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Subscribe a URL to events. The answer holds the signing secret: the only time
        it is shown."""
        doc = subscriptions.create(
            args["url"], args["events"], args.get("secret"), args.get("description", "")
        )
        return {**present(doc), "secret": doc["secret"]}


@blp.route("/webhooks/<webhook_id>")
class WebhookById(MethodView):
    @blp.response(200, WebhookSchema)
    @blp.alt_response(404, schema=ApiErrorSchema, description="no such subscription")
    def get(self, webhook_id: str) -> dict[str, Any]:
        """One subscription."""
        return present(subscriptions.get(webhook_id))

    @blp.response(204)
    @blp.alt_response(404, schema=ApiErrorSchema, description="no such subscription")
    def delete(self, webhook_id: str) -> None:
        """Unsubscribe: deliveries not made yet are not made (they end failed)."""
        subscriptions.delete(webhook_id)


@blp.route("/webhooks/<webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @blp.response(200, DeliverySchema(many=True))
    @blp.alt_response(404, schema=ApiErrorSchema, description="no such subscription")
    def get(self, webhook_id: str) -> list[dict[str, Any]]:
        """The subscription's latest deliveries (newest first, at most 50), each with
        its attempts."""
        subscriptions.get(webhook_id)
        return [present_delivery(doc) for doc in deliveries.listed(webhook_id)]
