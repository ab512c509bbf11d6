"""Marshmallow schemas of the API's responses and query arguments (they feed OpenAPI)."""

from marshmallow import Schema, fields, validate

from oms.orders.status import OrderStatus
from oms.uploads.status import UploadStatus


class ApiErrorSchema(Schema):
    """The body of every error answer (``oms/api/errors.py``); the fields after
    ``message`` come with the errors that have them."""

    code = fields.String(
        required=True,
        metadata={
            "description": "what went wrong, for programs: not_found, "
            "validation_error, missing_columns, too_many_attempts, ..."
        },
    )
    message = fields.String(required=True, metadata={"description": "the same, for people"})
    fields_ = fields.Dict(
        data_key="fields",
        metadata={"description": "invalid arguments: location (query, json) -> name -> messages"},
    )
    missing = fields.List(fields.String(), metadata={"description": "required columns absent"})
    found = fields.List(fields.String(), metadata={"description": "the columns the file has"})
    suggestions = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "missing column -> a found column that probably means it"},
    )
    allowed = fields.List(
        fields.String(), metadata={"description": "the statuses the order may move to"}
    )
    current_status = fields.String(metadata={"description": "the order's status"})
    available = fields.Integer(
        allow_none=True, metadata={"description": "stock IMS has (null: unknown)"}
    )
    retry_after = fields.Integer(
        metadata={"description": "seconds until this address may try again (also Retry-After)"}
    )
    upload_id = fields.String(metadata={"description": "the earlier upload of the same file"})
    status_url = fields.String(metadata={"description": "where that earlier upload is"})


# Identifiers and cursors in a query: bounded, and no control characters (a NUL cannot
# even be stored in the local store's jsonb).
_NO_CONTROL_CHARACTERS = validate.Regexp(
    r"\A[^\x00-\x1f\x7f]*\Z", error="must not contain control characters"
)
_IDENTIFIER = [validate.Length(min=1, max=100), _NO_CONTROL_CHARACTERS]


class CountsSchema(Schema):
    rows = fields.Integer()
    valid = fields.Integer()
    invalid = fields.Integer()
    duplicate = fields.Integer(metadata={"description": "invalid rows whose order_id repeats"})


class ChunkProgressSchema(Schema):
    total = fields.Integer()
    done = fields.Integer()
    failed = fields.Integer()
    cancelled = fields.Integer()
    pending = fields.Integer()


class InvalidBySchema(Schema):
    field = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "invalid rows with an error in each column"},
    )
    rule = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={
            "description": "invalid rows failing each rule, such as `required`, "
            "`unknown_sku` or `duplicate`"
        },
    )


class UndoProgressSchema(Schema):
    status = fields.String(
        validate=validate.OneOf(["running", "done", "failed"]),
        metadata={"description": "failed: given up after retries; undo again to go on"},
    )
    blocks_total = fields.Integer(metadata={"description": "listing blocks of 50 records"})
    blocks_done = fields.Integer()
    cancelled = fields.Integer(metadata={"description": "orders of the blocks done now cancelled"})
    kept = fields.Integer(
        metadata={"description": "orders of the blocks done that cannot be cancelled (fulfilled)"}
    )
    error = fields.String(allow_none=True)
    requested_at = fields.DateTime()
    updated_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class UploadSchema(Schema):
    upload_id = fields.String(attribute="_id")
    seq = fields.Integer(
        metadata={"description": "upload number: 1, 2, 3, ... in the order uploads were received"}
    )
    filename = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    status = fields.String(validate=validate.OneOf([str(s) for s in UploadStatus]))
    error = fields.String(allow_none=True)
    error_code = fields.String(allow_none=True)
    counts = fields.Nested(CountsSchema)
    mapping = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        allow_none=True,
        metadata={"description": "the column mapping the file was read with (file -> OMS)"},
    )
    mapping_name = fields.String(allow_none=True)
    check_only = fields.Boolean(
        metadata={"description": "a check (dry run): nothing of it was stored or published"}
    )
    committed_from = fields.String(
        allow_none=True, metadata={"description": "the check this upload commits"}
    )
    committed_as = fields.String(
        allow_none=True, metadata={"description": "the upload that committed this check"}
    )
    invalid_by = fields.Nested(
        InvalidBySchema,
        metadata={
            "description": "the invalid rows counted by field and by rule, exact for the "
            "chunks done so far (a row counts once under each field and rule it fails)"
        },
    )
    chunks = fields.Nested(ChunkProgressSchema)
    failed_chunks = fields.List(fields.Integer())
    cancel_requested = fields.Boolean(
        metadata={"description": "a cancel was asked for: no further chunk runs"}
    )
    cancel_requested_at = fields.DateTime(allow_none=True)
    cancelled_chunks = fields.List(
        fields.Integer(), metadata={"description": "chunks that did not run: cancelled"}
    )
    undo = fields.Nested(
        UndoProgressSchema,
        allow_none=True,
        metadata={"description": "progress of cancelling this upload's orders (POST .../undo)"},
    )
    chunk_rows = fields.Integer()
    extra_columns = fields.List(fields.String())
    invalid_file = fields.String(allow_none=True)
    invalid_file_url = fields.String(allow_none=True)
    order_status = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={
            "description": "the upload's orders by status; on_hold ones are still "
            "waiting for the finalizer (its lag, for this upload)"
        },
    )
    status_url = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    duration_s = fields.Float(allow_none=True)


class MappingArgsSchema(Schema):
    columns = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=200)),
        values=fields.String(validate=validate.Length(min=1, max=200)),
        required=True,
        metadata={"description": 'file column -> OMS column, e.g. {"sku_id": "sku"}'},
    )


class MappingSchema(Schema):
    name = fields.String()
    columns = fields.Dict(keys=fields.String(), values=fields.String())
    saved_at = fields.DateTime()


class UploadArgsSchema(Schema):
    mapping = fields.String(
        validate=validate.Length(min=2, max=4000),
        metadata={
            "description": "a column mapping for this file: a JSON object of file column -> "
            'OMS column, e.g. {"sku_id": "sku", "price": "unit_price"}'
        },
    )
    mapping_name = fields.String(
        validate=_IDENTIFIER, metadata={"description": "the name of a saved mapping to use"}
    )
    check = fields.Boolean(
        load_default=False,
        metadata={
            "description": "check only (a dry run): validate every row, ask IMS, make the "
            "invalid file, but store no order, publish no event, take no stock; commit it "
            "later with POST /uploads/<id>/commit"
        },
    )
    force = fields.Boolean(
        load_default=False,
        metadata={
            "description": "upload even when a completed upload had exactly this content "
            "(without it: 409 naming that upload)"
        },
    )
    chunk_rows = fields.Integer(
        validate=validate.Range(min=1, max=20_000),
        metadata={
            "description": "rows per chunk task (default OMS_CHUNK_ROWS; at least "
            "OMS_MIN_CHUNK_ROWS; raised so a file has about "
            "OMS_MAX_CHUNKS chunks at most)"
        },
    )


class UploadAcceptedSchema(Schema):
    upload_id = fields.String()
    check_only = fields.Boolean()
    status = fields.String()
    status_url = fields.String()
    filename = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class InvalidFileSchema(Schema):
    name = fields.String()
    upload_id = fields.String()
    size = fields.Integer()
    last_modified = fields.DateTime()
    url = fields.String()


class StatsSchema(Schema):
    orders = fields.Dict()
    uploads = fields.Dict()
    rows = fields.Dict()


class PageArgsSchema(Schema):
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))
    cursor = fields.String(
        validate=[validate.Length(max=500), _NO_CONTROL_CHARACTERS],
        metadata={
            "description": "where the page starts: the `next` of the previous page "
            "(omit for the first page)"
        },
    )


class PageSchema(Schema):
    page_size = fields.Integer()
    next = fields.String(
        allow_none=True,
        metadata={
            "description": "cursor of the next page (pass as `cursor`); null when there is no "
            "more. A page may hold fewer than page_size items and still have "
            "a next page: it examines a bounded number of documents."
        },
    )
    next_url = fields.String(
        allow_none=True, metadata={"description": "this listing's URL with `cursor` set to `next`"}
    )


class InvalidRowSchema(Schema):
    row_number = fields.Integer(
        metadata={"description": "the source line where the row starts (the header is 1)"}
    )
    errors = fields.String(metadata={"description": "every reason, as in the invalid file"})
    cells = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "the row's cells by column, as in the invalid file"},
    )


class InvalidRowPageSchema(PageSchema):
    items = fields.List(fields.Nested(InvalidRowSchema))


class UploadListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([str(s) for s in UploadStatus]))


class UploadPageSchema(PageSchema):
    items = fields.List(fields.Nested(UploadSchema))


class OrderListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([str(s) for s in OrderStatus]))
    hub_id = fields.String(validate=_IDENTIFIER)
    upload_id = fields.String(validate=_IDENTIFIER)


class CustomerSchema(Schema):
    name = fields.String()
    email = fields.String()


class ItemSchema(Schema):
    sku = fields.String()
    product_name = fields.String()
    quantity = fields.Integer()
    unit_price = fields.String(metadata={"description": "decimal string, e.g. 19.99"})
    total_amount = fields.String(metadata={"description": "decimal string"})


class StatusChangeSchema(Schema):
    status = fields.String()
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String(allow_none=True)
    at = fields.DateTime()
    reason = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)


class OrderSchema(Schema):
    order_id = fields.String()
    upload_id = fields.String()
    row_number = fields.Integer()
    customer = fields.Nested(CustomerSchema)
    item = fields.Nested(ItemSchema)
    hub_id = fields.String()
    order_date = fields.DateTime()
    shipping_address = fields.String()
    status = fields.String(validate=validate.OneOf([str(s) for s in OrderStatus]))
    status_history = fields.List(fields.Nested(StatusChangeSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CancelArgsSchema(Schema):
    reason = fields.String(validate=validate.Length(max=500))


class MoveArgsSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf([str(s) for s in OrderStatus]))
    reason = fields.String(validate=validate.Length(max=500))


class OrderPageSchema(PageSchema):
    items = fields.List(fields.Nested(OrderSchema))


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "ok"})


class ReadinessSchema(Schema):
    status = fields.String(validate=validate.OneOf(["ready", "not_ready"]))
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "dependency -> ok, or why it failed"},
    )
    failed = fields.List(fields.String(), metadata={"description": "the dependencies that failed"})
