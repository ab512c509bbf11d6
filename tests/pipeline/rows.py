"""Order CSV rows for tests, built from the reference IMS catalog."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

from ims.catalog import load_catalog

COLUMNS = [
    "order_id",
    "customer_name",
    "customer_email",
    "product_name",
    "sku",
    "hub_id",
    "quantity",
    "unit_price",
    "total_amount",
    "order_date",
    "shipping_address",
]

_CATALOG = load_catalog()
SKUS = sorted(sku["sku"] for sku in _CATALOG["skus"])
HUBS = sorted(hub["hub_id"] for hub in _CATALOG["hubs"])


def valid_row(n: int, prefix: str | None = None, **overrides: str) -> dict:
    prefix = prefix or f"T{uuid.uuid4().hex[:6]}"
    quantity = n % 5 + 1
    price = f"{(n % 90) + 10}.25"
    row = {
        "order_id": f"{prefix}-{n:06d}",
        "customer_name": f"Customer {n}",
        "customer_email": f"c{n}@example.com",
        "product_name": f"Product {n % 7}",
        "sku": SKUS[n % len(SKUS)],
        "hub_id": HUBS[n % len(HUBS)],
        "quantity": str(quantity),
        "unit_price": price,
        "total_amount": f"{quantity * float(price):.2f}",
        "order_date": "2025-03-01",
        "shipping_address": f"{n} Main Road, Bengaluru",
    }
    row.update(overrides)
    return row


def to_csv(rows: list[dict], columns: list[str] = COLUMNS, line_end: str = "\n") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator=line_end, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


# how another system names four of our columns
THEIRS = {"sku": "sku_id", "unit_price": "price", "order_date": "created_at", "order_id": "id"}


def their_file(prefix: str, rows: int = 4, bad_sku_at: int | None = None) -> bytes:
    """Valid rows under another system's names for four columns (THEIRS)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([THEIRS.get(name, name) for name in COLUMNS])
    for n in range(rows):
        row = valid_row(n, prefix=prefix)
        if n == bad_sku_at:
            row["sku"] = "NO-SUCH-SKU"
        writer.writerow([row[name] for name in COLUMNS])
    return out.getvalue().encode()


def to_xlsx(rows: int, path: Path, prefix: str = "XMEM") -> Path:
    """A workbook of ``rows`` valid rows (every cell text), written in openpyxl's
    write-only mode (fast, any size)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(COLUMNS)
    for n in range(rows):
        sheet.append([valid_row(n, prefix=prefix)[name] for name in COLUMNS])
    book.save(path)
    return path
