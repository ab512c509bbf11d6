from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from oms.ingest.reasons import Reason
from oms.ingest.rows import RawRecord
from oms.ingest.schema import (
    MAX_QUANTITY,
    InvalidRow,
    OrderRow,
    OrderRowSchema,
    format_errors,
    reject,
    validate_records,
)

from .helpers import GOOD_VALUES

FIELD_COUNT = Reason("row", "field_count", "has 12 fields, header has 11")


def _record(line: int = 2, problems: list[str] | None = None, **changes: str) -> RawRecord:
    values = {**GOOD_VALUES, **changes}
    return RawRecord(line, tuple(values.values()), values, list(problems or []))


def _errors(**changes: str) -> list[str]:
    """The errors of a single row that differs from a good row by ``changes``."""
    valid, invalid = validate_records([_record(**changes)])
    assert valid == []
    (row,) = invalid
    return row.errors


def _load(**changes: str) -> OrderRow:
    valid, invalid = validate_records([_record(**changes)])
    assert invalid == []
    (row,) = valid
    return row


def test_good_row_becomes_an_order_row() -> None:
    record = _record(line=7)

    valid, invalid = validate_records([record])

    assert invalid == []
    assert valid == [
        OrderRow(
            line=7,
            order_id="ORD-1",
            customer_name="Jane Doe",
            customer_email="jane@example.com",
            product_name="Widget",
            sku="SKU-1",
            hub_id="HUB-1",
            quantity=3,
            unit_price=Decimal("9.99"),
            total_amount=Decimal("29.97"),
            order_date=datetime(2025, 1, 31, tzinfo=UTC),
            shipping_address="1 Main St, Springfield",
            cells=record.cells,
        )
    ]


def test_schema_load_returns_cleaned_values() -> None:
    data = OrderRowSchema().load({**GOOD_VALUES, "note": "ignored"})

    assert data["quantity"] == 3
    assert data["unit_price"] == Decimal("9.99")
    assert "note" not in data


def test_every_value_is_stripped() -> None:
    padded = {name: f"  {value}\t" for name, value in GOOD_VALUES.items()}

    row = _load(**padded)

    assert row.order_id == "ORD-1"
    assert row.customer_name == "Jane Doe"
    assert row.customer_email == "jane@example.com"
    assert row.sku == "SKU-1"
    assert row.hub_id == "HUB-1"
    assert row.quantity == 3
    assert row.shipping_address == "1 Main St, Springfield"
    assert row.cells[0] == "  ORD-1\t"  # the original cell is kept as written


def test_money_is_decimal_quantized_to_cents() -> None:
    row = _load(quantity="2", unit_price="5", total_amount="10.000")

    assert row.unit_price == Decimal("5.00")
    assert row.unit_price.as_tuple().exponent == -2
    assert row.total_amount.as_tuple().exponent == -2


@pytest.mark.parametrize("value", ["", "   "])
@pytest.mark.parametrize(
    "field",
    ["order_id", "customer_name", "product_name", "shipping_address", "sku", "hub_id"],
)
def test_text_fields_must_not_be_empty(field: str, value: str) -> None:
    assert _errors(**{field: value}) == [f"{field}: must not be empty"]


def test_order_id_may_be_64_characters() -> None:
    assert _load(order_id="A" * 64).order_id == "A" * 64


def test_order_id_longer_than_64_characters() -> None:
    assert _errors(order_id="A" * 65) == ["order_id: must be at most 64 characters long (has 65)"]


@pytest.mark.parametrize("value", ["ORD 1", "ORD/1", "ORD.1", "ÖRD-1", "=1+1"])
def test_order_id_allowed_characters(value: str) -> None:
    (error,) = _errors(order_id=value)

    assert error.startswith("order_id: may contain only letters A-Z, digits, '-' and '_'")
    assert f'got "{value}"' in error


def test_order_id_with_underscores_and_dashes() -> None:
    assert _load(order_id="a_B-9").order_id == "a_B-9"


@pytest.mark.parametrize(
    "value",
    [
        "jane",
        "jane@",
        "@example.com",
        "jane@@example.com",
        "jane doe@example.com",
        "jane@localhost",
    ],
)
def test_customer_email_must_be_valid(value: str) -> None:
    assert _errors(customer_email=value) == [
        f'customer_email: not a valid email address (got "{value}")'
    ]


@pytest.mark.parametrize("value", ["1.5", "abc", "-5", "0", "00", "+3", "1e3", "３"])
def test_quantity_must_be_a_whole_number_of_at_least_one(value: str) -> None:
    assert _errors(quantity=value, total_amount="0") == [
        f'quantity: must be a whole number of 1 or more (got "{value}")'
    ]


def test_quantity_leading_zeros_are_fine() -> None:
    assert _load(quantity="003").quantity == 3


def test_quantity_upper_bound() -> None:
    assert _errors(quantity=str(MAX_QUANTITY + 1), total_amount="1") == [
        f'quantity: must be at most {MAX_QUANTITY} (got "{MAX_QUANTITY + 1}")'
    ]
    assert _errors(quantity="9" * 5000, total_amount="1")[0].startswith("quantity: must be at most")


@pytest.mark.parametrize(
    "value",
    ["NaN", "inf", "-inf", "1e3", "$5", "1,000.00", "5 00", "1.2.3", ".", "abc", "+5"],
)
def test_unit_price_must_be_a_plain_number(value: str) -> None:
    (error,) = _errors(unit_price=value)

    assert error.startswith("unit_price: must be a plain number such as 12.50")
    assert f'(got "{value}")' in error


def test_unit_price_must_not_be_negative() -> None:
    assert _errors(unit_price="-1.00") == ['unit_price: must not be negative (got "-1.00")']


def test_unit_price_at_most_two_decimals() -> None:
    assert _errors(unit_price="9.999") == [
        'unit_price: must have at most 2 decimal places (got "9.999")'
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", "0.00"), ("9.9", "9.90"), ("9.990", "9.99"), ("09.99", "9.99")],
)
def test_unit_price_accepted_forms(value: str, expected: str) -> None:
    total = str(Decimal(expected) * 3)

    assert _load(unit_price=value, total_amount=total).unit_price == Decimal(expected)


def test_money_too_large() -> None:
    assert _errors(unit_price="1" + "0" * 15, total_amount="1") == [
        f'unit_price: is too large (got "1{"0" * 15}")'
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("29.975", 'total_amount: must have at most 2 decimal places (got "29.975")'),
        ("-29.97", 'total_amount: must not be negative (got "-29.97")'),
        ("29,97", "total_amount: must be a plain number such as 12.50"),
    ],
)
def test_total_amount_format(value: str, message: str) -> None:
    (error,) = _errors(total_amount=value)

    assert error.startswith(message)


def test_total_amount_must_equal_quantity_times_unit_price() -> None:
    assert _errors(quantity="3", unit_price="9.99", total_amount="30.50") == [
        (
            "total_amount: does not match quantity x unit_price "
            "(3 x 9.99 = 29.97, but total_amount is 30.50)"
        )
    ]


@pytest.mark.parametrize("total", ["29.96", "29.97", "29.98"])
def test_total_amount_tolerates_one_cent(total: str) -> None:
    assert _load(quantity="3", unit_price="9.99", total_amount=total).total_amount == Decimal(total)


@pytest.mark.parametrize("total", ["29.95", "29.99"])
def test_total_amount_two_cents_off_is_rejected(total: str) -> None:
    (error,) = _errors(quantity="3", unit_price="9.99", total_amount=total)

    assert error.startswith("total_amount: does not match quantity x unit_price")


def test_total_check_is_exact_for_big_numbers() -> None:
    row = _load(
        quantity=str(MAX_QUANTITY),
        unit_price="999999999999999.99",
        total_amount="999999999999999990000000.00",
    )

    assert row.total_amount == Decimal("999999999999999990000000.00")


def test_total_is_checked_even_when_other_fields_fail() -> None:
    errors = _errors(customer_email="nope", order_date="x", total_amount="1.00")

    assert [e.split(":")[0] for e in errors] == [
        "customer_email",
        "total_amount",
        "order_date",
    ]
    assert errors[1].startswith("total_amount: does not match")


@pytest.mark.parametrize("bad", [{"quantity": "x"}, {"unit_price": "x"}, {"total_amount": "x"}])
def test_total_check_is_skipped_when_a_part_is_invalid(bad: dict[str, str]) -> None:
    errors = _errors(**bad)

    assert len(errors) == 1
    assert "does not match" not in errors[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-31", datetime(2025, 1, 31, tzinfo=UTC)),
        ("2025-01-31T10:00:00", datetime(2025, 1, 31, 10, tzinfo=UTC)),
        ("2025-01-31T10:00", datetime(2025, 1, 31, 10, tzinfo=UTC)),
        ("2025-01-31 10:00:00", datetime(2025, 1, 31, 10, tzinfo=UTC)),
        ("2025-01-31T10:00:00Z", datetime(2025, 1, 31, 10, tzinfo=UTC)),
        ("2025-01-31T10:00:00z", datetime(2025, 1, 31, 10, tzinfo=UTC)),
        ("2025-01-31T10:00:00+05:30", datetime(2025, 1, 31, 4, 30, tzinfo=UTC)),
        ("2025-01-31T01:00:00-0200", datetime(2025, 1, 31, 3, tzinfo=UTC)),
        (
            "2025-01-31T01:00:00.250+01:00",
            datetime(2025, 1, 31, 0, 0, 0, 250000, tzinfo=UTC),
        ),
    ],
)
def test_order_date_is_stored_as_utc(value: str, expected: datetime) -> None:
    order_date = _load(order_date=value).order_date

    assert order_date == expected
    assert order_date.utcoffset() == timedelta(0)
    assert order_date.tzinfo == UTC


@pytest.mark.parametrize(
    "value",
    [
        "31/01/2025",
        "01-31-2025",
        "2025/01/31",
        "20250131",
        "2025-1-31",
        "yesterday",
        "2025-01-31T10",
    ],
)
def test_order_date_format(value: str) -> None:
    assert _errors(order_date=value) == [
        (
            "order_date: must be a date like 2025-01-31 or a date and time like "
            f'2025-01-31T10:00:00Z (got "{value}")'
        )
    ]


@pytest.mark.parametrize(
    "value",
    ["2025-02-30", "2025-13-01", "2025-01-31T25:00:00", "0001-01-01T00:00:00+01:00"],
)
def test_order_date_must_exist(value: str) -> None:
    assert _errors(order_date=value) == [
        f'order_date: is not a real calendar date or time (got "{value}")'
    ]


def test_a_row_with_several_bad_fields_reports_all_of_them_in_column_order() -> None:
    errors = _errors(
        order_id="bad id",
        customer_name="",
        customer_email="nope",
        quantity="0",
        unit_price="1e3",
        order_date="tomorrow",
        shipping_address=" ",
    )

    assert [e.split(":")[0] for e in errors] == [
        "order_id",
        "customer_name",
        "customer_email",
        "quantity",
        "unit_price",
        "order_date",
        "shipping_address",
    ]


def test_record_problems_come_first() -> None:
    record = _record(problems=[FIELD_COUNT], customer_email="x")

    _, (row,) = validate_records([record])

    assert row.errors == [
        "row: has 12 fields, header has 11",
        'customer_email: not a valid email address (got "x")',
    ]


def test_a_record_problem_alone_makes_the_row_invalid() -> None:
    record = _record(problems=[FIELD_COUNT])

    valid, invalid = validate_records([record])

    assert valid == []
    assert invalid == [InvalidRow(2, record.cells, ["row: has 12 fields, header has 11"])]


def test_missing_column_value_is_reported() -> None:
    values = {k: v for k, v in GOOD_VALUES.items() if k != "sku"}

    _, (row,) = validate_records([RawRecord(2, tuple(values.values()), values, [])])

    assert row.errors == ["sku: column is missing"]


def test_row_with_every_cell_empty_gets_one_clear_error() -> None:
    values = dict.fromkeys(GOOD_VALUES, " ")

    _, (row,) = validate_records([RawRecord(9, (" ",) * 11, values, [])])

    assert row.errors == ["row: every cell is empty"]


def test_duplicate_order_ids_within_the_records() -> None:
    records = [
        _record(line=2, order_id="A"),
        _record(line=3, order_id="B"),
        _record(line=5, order_id=" A "),
        _record(line=6, order_id="A", customer_email="bad"),
        _record(line=7, order_id="a"),
    ]

    valid, invalid = validate_records(records)

    assert [r.line for r in valid] == [2, 3, 7]
    assert [(r.line, r.errors) for r in invalid] == [
        (5, ["order_id: duplicate order_id in file (first at line 2)"]),
        (
            6,
            [
                "order_id: duplicate order_id in file (first at line 2)",
                'customer_email: not a valid email address (got "bad")',
            ],
        ),
    ]


def test_first_occurrence_counts_even_when_it_is_invalid() -> None:
    records = [_record(line=2, quantity="0", total_amount="0"), _record(line=4)]

    valid, invalid = validate_records(records)

    assert valid == []
    assert invalid[1].errors == ["order_id: duplicate order_id in file (first at line 2)"]


def test_empty_or_invalid_order_ids_are_not_duplicates() -> None:
    records = [
        _record(line=2, order_id=""),
        _record(line=3, order_id=""),
        _record(line=4, order_id="a b"),
        _record(line=5, order_id="a b"),
    ]

    _, invalid = validate_records(records)

    assert [len(r.errors) for r in invalid] == [1, 1, 1, 1]
    assert not any("duplicate" in e for r in invalid for e in r.errors)


def test_reject_turns_a_valid_row_into_an_invalid_one() -> None:
    row = _load()

    rejected = reject(row, "sku: unknown SKU", "hub_id: unknown hub")

    assert rejected == InvalidRow(row.line, row.cells, ["sku: unknown SKU", "hub_id: unknown hub"])


def test_reject_needs_a_reason() -> None:
    with pytest.raises(ValueError):
        reject(_load())


def test_format_errors() -> None:
    assert format_errors(["a: x", "b: y"]) == "a: x; b: y"
    assert format_errors([]) == ""


def test_schema_load_raises_with_every_field() -> None:
    with pytest.raises(ValidationError) as info:
        OrderRowSchema().load({**GOOD_VALUES, "sku": "", "quantity": "x"})

    assert set(info.value.messages) == {"sku", "quantity"}


def test_long_values_are_shortened_in_messages() -> None:
    (error,) = _errors(customer_email="x" * 100)

    assert '(got "' + "x" * 37 + '...")' in error


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"order_id": "A 1"}, [("order_id", "characters")]),
        ({"order_id": "A" * 65}, [("order_id", "too_long")]),
        ({"customer_name": "  "}, [("customer_name", "empty")]),
        ({"customer_email": "jane@example"}, [("customer_email", "email")]),
        ({"quantity": "0"}, [("quantity", "whole_number")]),
        ({"quantity": "1.5", "total_amount": "14.99"}, [("quantity", "whole_number")]),
        ({"quantity": str(MAX_QUANTITY + 1)}, [("quantity", "too_large")]),
        ({"unit_price": "-1"}, [("unit_price", "negative")]),
        ({"unit_price": "9.999"}, [("unit_price", "decimals")]),
        ({"unit_price": "$9.99"}, [("unit_price", "number_format")]),
        ({"total_amount": "30.50"}, [("total_amount", "mismatch")]),
        ({"order_date": "31/01/2025"}, [("order_date", "date_format")]),
        ({"order_date": "2025-02-30"}, [("order_date", "not_a_date")]),
    ],
)
def test_every_reason_names_its_field_and_rule(changes, expected):
    errors = _errors(**changes)

    assert [(error.field, error.rule) for error in errors] == expected
    assert all(error.startswith(f"{error.field}: ") for error in errors)


def test_a_repeated_order_id_in_the_file_is_a_duplicate_by_rule():
    valid, invalid = validate_records([_record(line=2), _record(line=3)])

    assert [row.line for row in valid] == [2]
    assert [(e.field, e.rule) for e in invalid[0].errors] == [("order_id", "duplicate_in_file")]


def test_reasons_keep_field_and_rule_through_pickling():
    import pickle

    (error,) = _errors(quantity="0")
    copy = pickle.loads(pickle.dumps(error))

    assert (copy, copy.field, copy.rule) == (error, "quantity", "whole_number")


def test_a_cut_cell_is_reported_once_not_also_by_its_rule():
    from oms.ingest.rows import Limits, read_records

    from .helpers import header

    values = {**GOOD_VALUES, "customer_email": "a" * 2000 + "@example.com"}
    row = ",".join(f'"{v}"' if "," in v else v for v in values.values())
    (record,) = read_records((row + "\n").encode(), header(), 2, Limits(max_field_chars=100))

    _, (invalid,) = validate_records([record])

    assert [(e.field, e.rule) for e in invalid.errors] == [("customer_email", "too_long")]
