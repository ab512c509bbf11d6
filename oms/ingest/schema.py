"""Validate order rows: every rule, every failing field, in words an operator understands.

``OrderRowSchema().load(values)`` takes the raw cells by (normalized) column name and
returns cleaned values, or raises ``ValidationError`` listing every failing field.
``validate_records`` runs it over a chunk's records and sorts them into valid ``OrderRow``s
and ``InvalidRow``s whose errors read "field: message". Messages are plain ASCII so they
survive any spreadsheet's idea of the file's encoding.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from oms.ingest.header import REQUIRED_COLUMNS
from oms.ingest.reasons import DUPLICATE_IN_FILE, Reason, RuleMessage
from oms.ingest.rows import RawRecord

ORDER_ID_MAX_LENGTH = 64
#: Sanity bound; far above any real order, and keeps every total exact and storable.
MAX_QUANTITY = 1_000_000_000
#: Digits allowed before the decimal point of a unit price (up to 999 trillion) and of
#: a total (room for MAX_QUANTITY x the largest price); both fit Decimal128 exactly.
MAX_PRICE_INTEGER_DIGITS = 15
MAX_TOTAL_INTEGER_DIGITS = MAX_PRICE_INTEGER_DIGITS + len(str(MAX_QUANTITY)) - 1
TOTAL_TOLERANCE = Decimal("0.01")

_CENT = Decimal("0.01")
_ORDER_ID = re.compile(r"[A-Za-z0-9_-]+")
_WHOLE_NUMBER = re.compile(r"[0-9]+")
_MONEY = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
_DATE_OR_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?)?",
    re.ASCII,
)
_SHOWN_MAX = 40


def _shown(value: str) -> str:
    """Quote a (possibly long) cell for an error message."""
    if len(value) > _SHOWN_MAX:
        value = value[: _SHOWN_MAX - 3] + "..."
    return f'"{value}"'


def _invalid(rule: str, message: str) -> ValidationError:
    return ValidationError(RuleMessage(rule, message))


class _Text(fields.Field):
    """A required cell, stripped of surrounding whitespace, that must not be empty."""

    default_error_messages = {  # typed by marshmallow's Field
        "required": RuleMessage("missing", "column is missing"),
        "null": RuleMessage("empty", "must not be empty"),
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise _invalid("wrong_type", "must be text")
        text = value.strip()
        if not text:
            raise _invalid("empty", "must not be empty")
        return self._check(text)

    def _check(self, text: str) -> Any:
        return text

    def _validate(self, value: Any) -> None:
        # marshmallow 4.4's Field._validate builds an And() of the field's validators at
        # every call, even of none: a tenth of the schema's time over 100k rows (cProfile:
        # 220,000 And() for 20,000 rows). Our fields check in _deserialize and have none.
        if self.validators:
            super()._validate(value)


class _OrderId(_Text):
    def _check(self, text: str) -> str:
        problems = []
        if len(text) > ORDER_ID_MAX_LENGTH:
            problems.append(
                RuleMessage(
                    "too_long",
                    f"must be at most {ORDER_ID_MAX_LENGTH} characters long (has {len(text)})",
                )
            )
        if not _ORDER_ID.fullmatch(text):
            problems.append(
                RuleMessage(
                    "characters",
                    "may contain only letters A-Z, digits, '-' and '_' "
                    f"(no spaces or other signs, got {_shown(text)})",
                )
            )
        if problems:
            raise ValidationError(problems)
        return text


class _EmailAddress(_Text):
    _validator = validate.Email()

    def _check(self, text: str) -> str:
        try:
            self._validator(text)
        except ValidationError:
            raise _invalid("email", f"not a valid email address (got {_shown(text)})") from None
        if "." not in text.rpartition("@")[2]:
            raise _invalid("email", f"not a valid email address (got {_shown(text)})")
        return text


class _Quantity(_Text):
    def _check(self, text: str) -> int:
        digits = text.lstrip("0")
        if not _WHOLE_NUMBER.fullmatch(text) or not digits:
            raise _invalid(
                "whole_number", f"must be a whole number of 1 or more (got {_shown(text)})"
            )
        if len(digits) > len(str(MAX_QUANTITY)) or int(digits) > MAX_QUANTITY:
            raise _invalid("too_large", f"must be at most {MAX_QUANTITY} (got {_shown(text)})")
        return int(digits)


class _Money(_Text):
    """A non-negative amount in plain notation ("12", "12.5", "12.50"), at most 2 decimals.

    Exponents, NaN, infinity, currency signs and thousands separators are refused: an
    amount must read the same to a person and to the program. Zeros after the second
    decimal ("12.500") are harmless and accepted.
    """

    def __init__(self, *, max_integer_digits: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_integer_digits = max_integer_digits

    def _check(self, text: str) -> Decimal:
        match = _MONEY.fullmatch(text)
        if not match:
            raise _invalid(
                "number_format",
                "must be a plain number such as 12.50, without currency signs, "
                f"spaces or thousands separators (got {_shown(text)})",
            )
        sign, integer, fraction = match.groups()
        if sign:
            raise _invalid("negative", f"must not be negative (got {_shown(text)})")
        if len(integer.lstrip("0")) > self.max_integer_digits:
            raise _invalid("too_large", f"is too large (got {_shown(text)})")
        if fraction and fraction[2:].strip("0"):
            raise _invalid("decimals", f"must have at most 2 decimal places (got {_shown(text)})")
        cents = (fraction or "")[:2].ljust(2, "0")
        return Decimal(f"{integer}.{cents}").quantize(_CENT)


class _OrderDate(_Text):
    """An ISO-8601 date or date-time, returned as an aware UTC datetime.

    A date means midnight UTC; a date-time without offset is taken as UTC.
    """

    def _check(self, text: str) -> datetime:
        message = (
            "must be a date like 2025-01-31 or a date and time like 2025-01-31T10:00:00Z "
            f"(got {_shown(text)})"
        )
        if not _DATE_OR_DATETIME.fullmatch(text):
            raise _invalid("date_format", message)
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                return datetime(day.year, day.month, day.day, tzinfo=UTC)
            moment = datetime.fromisoformat(text.replace("z", "Z"))
            if moment.tzinfo is None:
                return moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC)
        except (ValueError, OverflowError) as exc:
            raise _invalid(
                "not_a_date", f"is not a real calendar date or time (got {_shown(text)})"
            ) from exc


class OrderRowSchema(Schema):
    """Load one row's raw cells (normalized column name -> cell) into cleaned values."""

    class Meta:
        unknown = EXCLUDE

    order_id = _OrderId(required=True)
    customer_name = _Text(required=True)
    customer_email = _EmailAddress(required=True)
    product_name = _Text(required=True)
    sku = _Text(required=True)
    hub_id = _Text(required=True)
    quantity = _Quantity(required=True)
    unit_price = _Money(required=True, max_integer_digits=MAX_PRICE_INTEGER_DIGITS)
    total_amount = _Money(required=True, max_integer_digits=MAX_TOTAL_INTEGER_DIGITS)
    order_date = _OrderDate(required=True)
    shipping_address = _Text(required=True)

    @validates_schema(skip_on_field_errors=False)
    def _total_matches(self, data: dict[str, Any], **kwargs: Any) -> None:
        """total_amount = quantity x unit_price (within 0.01), if all three are valid."""
        try:
            quantity, price, total = (
                data["quantity"],
                data["unit_price"],
                data["total_amount"],
            )
        except KeyError:
            return
        with decimal.localcontext(prec=60):
            expected = (quantity * price).quantize(_CENT)
            if abs(total - expected) <= TOTAL_TOLERANCE:
                return
        raise ValidationError(
            RuleMessage(
                "mismatch",
                f"does not match quantity x unit_price ({quantity} x {price} = {expected}, "
                f"but total_amount is {total})",
            ),
            field_name="total_amount",
        )


@dataclass(frozen=True)
class OrderRow:
    """A row that passed every check; ``cells`` keeps the original cells for ``reject``."""

    line: int
    order_id: str
    customer_name: str
    customer_email: str
    product_name: str
    sku: str
    hub_id: str
    quantity: int
    unit_price: Decimal
    total_amount: Decimal
    order_date: datetime
    shipping_address: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class InvalidRow:
    """A rejected row: its source line, original cells, and every reason ("field: message")."""

    line: int
    cells: tuple[str, ...]
    errors: list[Reason]


_SCHEMA = OrderRowSchema()


def validate_records(
    records: Iterable[RawRecord],
) -> tuple[list[OrderRow], list[InvalidRow]]:
    """Check every record; return (valid rows, invalid rows), each in file order.

    A record's own problems (shape, encoding) come first, then the failing fields in
    column order. The second and later rows repeating a valid order_id are invalid too,
    whatever became of the first one.
    """
    valid: list[OrderRow] = []
    invalid: list[InvalidRow] = []
    first_seen: dict[str, int] = {}
    for record in records:
        if not any(cell.strip() for cell in record.cells):
            errors = [*record.problems, Reason("row", "empty_row", "every cell is empty")]
            invalid.append(InvalidRow(record.line, record.cells, errors))
            continue
        try:
            data = _SCHEMA.load(record.values)
            messages: Mapping[str, Any] = {}
        except ValidationError as exc:
            data = exc.valid_data or {}
            messages = exc.normalized_messages()
        by_field = {name: _as_list(messages.get(name)) for name in REQUIRED_COLUMNS}
        for problem in record.problems:  # a cell already refused needs no second reason
            if problem.field in by_field:
                by_field[problem.field] = []
        order_id = data.get("order_id")
        if order_id is not None:
            if order_id in first_seen:
                by_field["order_id"].append(
                    RuleMessage(
                        DUPLICATE_IN_FILE,
                        f"duplicate order_id in file (first at line {first_seen[order_id]})",
                    )
                )
            else:
                first_seen[order_id] = record.line
        errors = list(record.problems)
        errors += [_reason(name, msg) for name, msgs in by_field.items() for msg in msgs]
        errors += [_reason("row", msg) for msg in _as_list(messages.get("_schema"))]
        if errors:
            invalid.append(InvalidRow(record.line, record.cells, errors))
        else:
            valid.append(OrderRow(line=record.line, cells=record.cells, **data))
    return valid, invalid


def reject(row: OrderRow, *errors: Reason) -> InvalidRow:
    """Turn a valid row into an invalid one after a later check (unknown SKU, duplicate...)."""
    if not errors:
        raise ValueError("reject() needs at least one error")
    return InvalidRow(row.line, row.cells, list(errors))


def _reason(field: str, message: str) -> Reason:
    return Reason(field, getattr(message, "rule", "invalid"), str(message))


def format_errors(errors: Iterable[str]) -> str:
    """Join error messages for the ``errors`` column of the invalid-records file."""
    return "; ".join(errors)


def _as_list(messages: Any) -> list[str]:
    """Marshmallow's messages of one field, as a list (rule messages kept as they are)."""
    if messages is None:
        return []
    if isinstance(messages, str):
        return [messages]
    return [m if isinstance(m, str) else str(m) for m in messages]
