"""Request bodies of the IMS API, checked before anything reaches the store."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from ims.errors import BadRequest, TooLarge

ORDER_ID = validate.Regexp(
    r"^[A-Za-z0-9_-]{1,64}$", error="must be 1-64 letters, digits, '-' or '_'"
)
MAX_ID_LENGTH = 128
MAX_QUANTITY = 1_000_000
MAX_DELTA = 1_000_000_000
MAX_EVENTS = 1000


class ItemSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    # Empty strings are allowed on purpose: they are answered "does not exist" rather
    # than failing a whole chunk's batch check.
    sku = fields.String(required=True, validate=validate.Length(max=MAX_ID_LENGTH))
    hub_id = fields.String(required=True, validate=validate.Length(max=MAX_ID_LENGTH))


class ValidateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    items = fields.List(fields.Nested(ItemSchema), required=True)


class ReservationSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    order_id = fields.String(required=True, validate=ORDER_ID)
    sku = fields.String(required=True, validate=validate.Length(min=1, max=MAX_ID_LENGTH))
    hub_id = fields.String(required=True, validate=validate.Length(min=1, max=MAX_ID_LENGTH))
    quantity = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=MAX_QUANTITY)
    )


class AdjustSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    sku = fields.String(required=True, validate=validate.Length(min=1, max=MAX_ID_LENGTH))
    hub_id = fields.String(required=True, validate=validate.Length(min=1, max=MAX_ID_LENGTH))
    delta = fields.Integer(
        required=True,
        strict=True,
        validate=[
            validate.Range(min=-MAX_DELTA, max=MAX_DELTA),
            validate.NoneOf([0], error="must not be 0"),
        ],
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class InventoryQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    sku = fields.String(validate=validate.Length(max=MAX_ID_LENGTH))
    hub_id = fields.String(validate=validate.Length(max=MAX_ID_LENGTH))

    @pre_load
    def drop_empty(self, args: Any, **kwargs: Any) -> dict[str, Any]:
        # "?sku=&hub_id=HUB-1" filters by hub only: an empty filter is no filter.
        return {key: value for key, value in args.items() if value != ""}


class EventsQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**63 - 1))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_EVENTS))


# Built once: a Schema's construction deep-copies its declared fields, which cost the
# reference IMS more than the load itself when done per reservation of a batch (py-spy,
# make bench-finalize). A load keeps no state on the instance.
VALIDATE = ValidateSchema()
RESERVATION = ReservationSchema()
ADJUST = AdjustSchema()
INVENTORY_QUERY = InventoryQuerySchema()
EVENTS_QUERY = EventsQuerySchema()


def load_validate_body(body: Any, max_items: int) -> list[tuple[str, str]]:
    items = body.get("items") if isinstance(body, dict) else None
    if isinstance(items, list) and len(items) > max_items:
        raise TooLarge(f"at most {max_items} items per call", max_items=max_items)
    data = _load(VALIDATE, body)
    return [(item["sku"], item["hub_id"]) for item in data["items"]]


def load_reservation_body(body: Any) -> dict[str, Any]:
    return _load(RESERVATION, body)


def load_batch_items(body: Any, max_batch: int) -> list[Any]:
    """The raw items of a reservation batch: the envelope is checked here, each item
    by ``load_reservation_body`` on its own (a bad item fails alone)."""
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise BadRequest('request body must be a JSON object with an "items" list')
    if len(items) > max_batch:
        raise TooLarge(f"at most {max_batch} items per call", max_items=max_batch)
    return items


def load_adjust_body(body: Any) -> dict[str, Any]:
    return _load(ADJUST, body)


def load_query(schema: Schema, args: Any) -> dict[str, Any]:
    try:
        return schema.load(args)
    except ValidationError as exc:
        raise BadRequest("invalid query arguments", errors=exc.messages) from None


def _load(schema: Schema, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise BadRequest("invalid request body", errors=exc.messages) from None
