"""Builders and a reference parser shared by the ingest tests."""

from __future__ import annotations

import csv
import io

from oms.ingest.header import REQUIRED_COLUMNS, Header, read_header

HEADER_LINE = ",".join(REQUIRED_COLUMNS)

GOOD_VALUES = {
    "order_id": "ORD-1",
    "customer_name": "Jane Doe",
    "customer_email": "jane@example.com",
    "product_name": "Widget",
    "sku": "SKU-1",
    "hub_id": "HUB-1",
    "quantity": "3",
    "unit_price": "9.99",
    "total_amount": "29.97",
    "order_date": "2025-01-31",
    "shipping_address": "1 Main St, Springfield",
}


def header() -> Header:
    """The header of a file with exactly the required columns, in contract order."""
    return read_header((HEADER_LINE + "\n").encode())


def reference_records(data: bytes, first_line: int = 1) -> list[tuple[int, list[str]]]:
    """(start line, cells) of every non-blank record, as csv.reader sees the whole text."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    records = []
    lines_before = 0
    for cells in reader:
        if cells:
            records.append((first_line + lines_before, cells))
        lines_before = reader.line_num
    return records


def blocks_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]
