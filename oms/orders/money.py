"""Money in the store: exact integer cents.

The design asked for Decimal128, but FerretDB 1.24 (the local MongoDB) has no Decimal128:
a document holding one makes it drop the connection ("invalid BSON type
wirebson.Decimal128", internal/bson/bson.go). Integer minor units are exact on FerretDB
and MongoDB 7 alike and sum exactly in aggregations. The CSV contract allows at most two
decimals, so cents lose nothing. Python code sees ``Decimal``; JSON sees strings.
"""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> int:
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)
