"""Request and response bodies of /webhooks (oms/api/webhooks.py)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from oms.webhooks.events import EVENTS
from oms.webhooks.subscriptions import MAX_URL_CHARS, SECRET_CHARS


class WebhookArgsSchema(Schema):
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_URL_CHARS),
        metadata={"description": "where deliveries are POSTed: an http:// or https:// URL"},
    )
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENTS)),
        required=True,
        validate=validate.Length(min=1, max=len(EVENTS) * 2),
        metadata={"description": f"the events wanted, of {', '.join(EVENTS)}"},
    )
    secret = fields.String(
        validate=validate.Length(min=SECRET_CHARS[0], max=SECRET_CHARS[1]),
        metadata={"description": "the signing secret; when absent the server makes one"},
    )
    description = fields.String(validate=validate.Length(max=200))


class WebhookSchema(Schema):
    webhook_id = fields.String(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    description = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    deliveries_url = fields.String(required=True)


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String(
        required=True,
        metadata={"description": "the signing secret: shown now, never again"},
    )


class AttemptSchema(Schema):
    number = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    status_code = fields.Integer(
        allow_none=True, metadata={"description": "the receiver's answer; null if none"}
    )
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer(required=True)
    response = fields.String(metadata={"description": "the start of the receiver's answer"})


class DeliverySchema(Schema):
    delivery_id = fields.String(
        required=True, metadata={"description": "the same at every attempt (OMS-Delivery-Id)"}
    )
    webhook_id = fields.String(required=True)
    upload_id = fields.String(required=True)
    event = fields.String(required=True)
    event_id = fields.String(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(["pending", "delivered", "failed"]),
        metadata={"description": "pending (attempts to come), delivered, or failed (given up)"},
    )
    attempts = fields.List(fields.Nested(AttemptSchema), required=True)
    next_attempt_at = fields.DateTime(
        allow_none=True, metadata={"description": "when a pending delivery is tried next"}
    )
    created_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)
