"""An independent reading of the CSV contract's row rules, used as the test oracle for the
sample file and the generator (it is not the pipeline's validator, on purpose).

Conventions: ``fields`` are listed in column order; ``total_amount`` is compared only when
quantity and unit_price are valid; an order_id seen earlier in the file is a duplicate.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ims.catalog import load_catalog
from oms.ingest.header import REQUIRED_COLUMNS

COLUMNS = list(REQUIRED_COLUMNS)
ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
QUANTITY = re.compile(r"^[0-9]+$")
TOLERANCE = Decimal("0.01")


class RowChecker:
    def __init__(self) -> None:
        catalog = load_catalog()
        self.skus = {s["sku"] for s in catalog["skus"]}
        self.hubs = {h["hub_id"] for h in catalog["hubs"]}
        self.seen: set[str] = set()

    def bad_fields(self, row: dict[str, str]) -> list[str]:
        bad = set()
        order_id = row["order_id"]
        if not ORDER_ID.match(order_id) or order_id in self.seen:
            bad.add("order_id")
        if ORDER_ID.match(order_id):
            self.seen.add(order_id)
        for name in ("customer_name", "product_name", "shipping_address"):
            if not row[name].strip():
                bad.add(name)
        if not EMAIL.match(row["customer_email"]):
            bad.add("customer_email")
        if row["sku"] not in self.skus:
            bad.add("sku")
        if row["hub_id"] not in self.hubs:
            bad.add("hub_id")
        quantity = int(row["quantity"]) if QUANTITY.match(row["quantity"]) else 0
        if quantity < 1:
            bad.add("quantity")
        price = _decimal(row["unit_price"])
        if price is None or price < 0 or price.as_tuple().exponent < -2:
            bad.add("unit_price")
        total = _decimal(row["total_amount"])
        if (
            total is None
            or total < 0
            or total.as_tuple().exponent < -2
            or (not bad & {"quantity", "unit_price"} and abs(total - quantity * price) > TOLERANCE)
        ):
            bad.add("total_amount")
        if not _iso_date(row["order_date"]):
            bad.add("order_date")
        return [c for c in COLUMNS if c in bad]


def records(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(physical line where the record starts, row) for every data record."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        assert header == COLUMNS
        start = reader.line_num + 1
        for values in reader:
            yield start, dict(zip(header, values, strict=True))
            start = reader.line_num + 1


def _decimal(value: str) -> Decimal | None:
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _iso_date(value: str) -> bool:
    try:
        if len(value) == 10:
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value)
    except ValueError:
        return False
    return "T" in value or len(value) == 10
