"""Generate a large orders CSV in the OMS contract, plus a sidecar of exact expected counts.

    python benchmarks/generate_orders.py OUT.csv --rows 100000 --invalid-ratio 0.02 \\
        --seed 1 --crlf --prefix RUN7

Rows are streamed to the file (memory stays flat whatever ``--rows``). SKUs and hubs come
from the IMS catalog (``ims/catalog.json``). Some addresses hold quoted commas and quoted
newlines. About ``--invalid-ratio`` of the rows break exactly ONE rule each, spread over
every rule type, so ``invalid_by_field`` sums to ``invalid``. Order ids are
``<prefix>-<n>``; give each run its own ``--prefix`` when the same database sees several
runs. The output is a pure function of the arguments (``--seed`` drives everything).

The sidecar ``OUT.csv.expected.json`` holds ``rows``, ``valid``, ``invalid``,
``invalid_by_field``, ``invalid_by_rule`` and ``physical_lines`` (the file's line count,
header included; larger than rows + 1 because of quoted newlines).

Conventions the expected counts rely on: a duplicate repeats the id of an earlier VALID row
(the second occurrence is the invalid one); ``total_amount`` is only compared when quantity
and unit_price are themselves valid, and every row here whose quantity or price is broken
still carries a total that would match, so either reading gives the same counts.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

try:
    from ims.catalog import CATALOG_PATH, load_catalog
    from oms.ingest.header import REQUIRED_COLUMNS
except ModuleNotFoundError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from ims.catalog import CATALOG_PATH, load_catalog
    from oms.ingest.header import REQUIRED_COLUMNS

COLUMNS = list(REQUIRED_COLUMNS)

# rule name -> the field it breaks
RULES = {
    "order_id_empty": "order_id",
    "order_id_characters": "order_id",
    "order_id_too_long": "order_id",
    "order_id_duplicate": "order_id",
    "customer_name_empty": "customer_name",
    "customer_email_invalid": "customer_email",
    "product_name_empty": "product_name",
    "sku_unknown": "sku",
    "hub_id_unknown": "hub_id",
    "quantity_zero": "quantity",
    "quantity_text": "quantity",
    "quantity_fraction": "quantity",
    "unit_price_negative": "unit_price",
    "unit_price_three_decimals": "unit_price",
    "total_amount_mismatch": "total_amount",
    "order_date_invalid": "order_date",
    "order_date_not_iso": "order_date",
    "shipping_address_empty": "shipping_address",
}

FIRST_NAMES = [
    "Aarav",
    "Priya",
    "Rohan",
    "Kavya",
    "Vikram",
    "Ananya",
    "Arjun",
    "Sneha",
    "Ishaan",
    "Meera",
    "Aditya",
    "Zoë",
    "Karan",
    "Divya",
    "Rahul",
    "Nisha",
    "Siddharth",
    "Pooja",
    "Manish",
    "Lakshmi",
    "Farhan",
    "Riya",
    "Tanvi",
    "Gaurav",
    "Shreya",
    "Aisha",
    "José",
]
LAST_NAMES = [
    "Sharma",
    "Nair",
    "Mehta",
    "Iyer",
    "Singh",
    "Gupta",
    "Reddy",
    "Kulkarni",
    "Verma",
    "Pillai",
    "Rao",
    "D'Souza",
    "Malhotra",
    "Menon",
    "Joshi",
    "Patel",
    "Bose",
    "Hegde",
    "Tiwari",
    "Krishnan",
    "Qureshi",
    "Sen",
    "Desai",
    "Kapoor",
    "Ghosh",
    "Khan",
    "O'Brien",
]
STREETS = [
    "MG Road",
    "Linking Road",
    "Anna Salai",
    "Park Street",
    "Brigade Road",
    "Church Street",
    "Residency Road",
    "Carter Road",
    "Jubilee Hills Road No. 36",
    "Outer Ring Road",
]
CITIES = [
    ("Bengaluru", "560001"),
    ("Mumbai", "400050"),
    ("New Delhi", "110024"),
    ("Hyderabad", "500034"),
    ("Chennai", "600017"),
    ("Pune", "411045"),
    ("Kolkata", "700091"),
]
ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class OrderFactory:
    """Builds one row at a time from a seeded RNG; remembers only the last valid id."""

    def __init__(self, rng: random.Random, prefix: str, catalog: dict) -> None:
        self.rng = rng
        self.prefix = prefix
        self.skus = {s["sku"]: s for s in catalog["skus"]}
        self.hubs = [h["hub_id"] for h in catalog["hubs"]]
        self.stocked = [(s["sku"], s["hub_id"]) for s in catalog["stock"] if s["quantity"] > 0]
        self.last_valid_id: str | None = None

    def valid_row(self, n: int) -> dict[str, str]:
        rng = self.rng
        if rng.random() < 0.9:
            sku, hub_id = rng.choice(self.stocked)
        else:  # any known pair is valid, stocked or not
            sku, hub_id = rng.choice(list(self.skus)), rng.choice(self.hubs)
        item = self.skus[sku]
        quantity = rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 10])
        price = Decimal(item["unit_price"])
        total = quantity * price
        if rng.random() < 0.01:  # inside the ±0.01 tolerance
            total += rng.choice([Decimal("0.01"), Decimal("-0.01")])
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        return {
            "order_id": f"{self.prefix}-{n:09d}",
            "customer_name": f"{first} {last}",
            "customer_email": f"{_ascii(first)}.{_ascii(last)}{n}@example.com",
            "product_name": item["name"],
            "sku": sku,
            "hub_id": hub_id,
            "quantity": str(quantity),
            "unit_price": item["unit_price"],
            "total_amount": f"{total:.2f}",
            "order_date": self._date(),
            "shipping_address": self._address(),
        }

    def invalid_row(self, n: int, rule: str) -> dict[str, str]:
        row = self.valid_row(n)
        quantity, price = int(row["quantity"]), Decimal(row["unit_price"])
        if rule == "order_id_empty":
            row["order_id"] = ""
        elif rule == "order_id_characters":
            row["order_id"] = f"{self.prefix}#{n:09d}"
        elif rule == "order_id_too_long":
            row["order_id"] = f"{self.prefix}-{n:09d}-".ljust(65, "X")
        elif rule == "order_id_duplicate":
            row["order_id"] = self.last_valid_id
        elif rule == "customer_name_empty":
            row["customer_name"] = ""
        elif rule == "customer_email_invalid":
            row["customer_email"] = self.rng.choice(
                [
                    "no-at-sign.example.com",
                    "two@@example.com",
                    "trailing@",
                    "@example.com",
                ]
            )
        elif rule == "product_name_empty":
            row["product_name"] = ""
        elif rule == "sku_unknown":
            row["sku"] = f"SKU-{self.rng.randint(90000, 99999)}"
        elif rule == "hub_id_unknown":
            row["hub_id"] = self.rng.choice(["HUB-GOA-01", "HUB-XXX-99", "HUB-BLR-99"])
        elif rule == "quantity_zero":
            row["quantity"], row["total_amount"] = "0", "0.00"
        elif rule == "quantity_text":
            row["quantity"] = self.rng.choice(["abc", "two", ""])
        elif rule == "quantity_fraction":
            row["quantity"] = f"{quantity}.5"
            row["total_amount"] = f"{(quantity + Decimal('0.5')) * price:.2f}"
        elif rule == "unit_price_negative":
            row["unit_price"] = f"-{price:.2f}" if price else "-1.00"
            # A negative total would break a second rule; keep the (positive) total.
        elif rule == "unit_price_three_decimals":
            row["unit_price"] = f"{price:.2f}5"  # total stays within 0.01 of qty × price
            row["quantity"], row["total_amount"] = "1", f"{price:.2f}"
        elif rule == "total_amount_mismatch":
            row["total_amount"] = (
                f"{quantity * price + Decimal('0.02') + self.rng.randint(0, 99):.2f}"
            )
        elif rule == "order_date_invalid":
            row["order_date"] = self.rng.choice(["2024-13-45", "2025-02-30", "2025-00-10"])
        elif rule == "order_date_not_iso":
            row["order_date"] = self.rng.choice(["31/01/2025", "01-31-2025", "Jan 31 2025"])
        elif rule == "shipping_address_empty":
            row["shipping_address"] = ""
        else:
            raise ValueError(rule)
        return row

    def _date(self) -> str:
        rng = self.rng
        day = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        kind = rng.random()
        if kind < 0.5:
            return day
        time = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        if kind < 0.7:
            return f"{day}T{time}"
        if kind < 0.85:
            return f"{day}T{time}Z"
        return f"{day}T{time}+05:30"

    def _address(self) -> str:
        rng = self.rng
        city, pin = rng.choice(CITIES)
        street = f"{rng.randint(1, 999)} {rng.choice(STREETS)}"
        kind = rng.random()
        if kind < 0.03:  # quoted newline: the record spans two physical lines
            flat = f"Flat {rng.randint(1, 40)}{rng.choice('ABCD')}, Tower {rng.randint(1, 9)}"
            return f"{flat}\n{street}, {city} {pin}"
        if kind < 0.6:  # quoted commas
            return f"{street}, {city}, {pin}"
        return f"{street} {city} {pin}"


def generate(
    out: Path,
    rows: int,
    invalid_ratio: float,
    seed: int,
    crlf: bool,
    prefix: str,
    catalog_path: Path = CATALOG_PATH,
) -> dict:
    if not ORDER_ID.match(prefix) or len(prefix) > 40:
        raise ValueError("prefix must be 1-40 letters, digits, '-' or '_'")
    rng = random.Random(seed)
    factory = OrderFactory(rng, prefix, load_catalog(catalog_path))
    by_rule: Counter[str] = Counter()
    newline = "\r\n" if crlf else "\n"
    lines = 1
    with open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator=newline)
        writer.writerow(COLUMNS)
        for n in range(1, rows + 1):
            rule = None
            if rng.random() < invalid_ratio:
                rule = rng.choice(list(RULES))
                if rule == "order_id_duplicate" and factory.last_valid_id is None:
                    rule = "order_id_empty"
            if rule is None:
                row = factory.valid_row(n)
                factory.last_valid_id = row["order_id"]
            else:
                row = factory.invalid_row(n, rule)
                by_rule[rule] += 1
            writer.writerow([row[c] for c in COLUMNS])
            lines += 1 + row["shipping_address"].count("\n")
    invalid = sum(by_rule.values())
    by_field: Counter[str] = Counter()
    for rule, count in by_rule.items():
        by_field[RULES[rule]] += count
    expected = {
        "rows": rows,
        "valid": rows - invalid,
        "invalid": invalid,
        "invalid_by_field": dict(sorted(by_field.items())),
        "invalid_by_rule": dict(sorted(by_rule.items())),
        "physical_lines": lines,
        "line_terminator": "CRLF" if crlf else "LF",
        "seed": seed,
        "prefix": prefix,
    }
    sidecar = Path(f"{out}.expected.json")
    sidecar.write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
    return expected


def _ascii(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower().replace("ë", "e").replace("é", "e"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--invalid-ratio", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--crlf", action="store_true", help="end records with CRLF")
    parser.add_argument("--prefix", default=None, help="order_id prefix (default GEN<seed>)")
    parser.add_argument("--catalog", type=Path, default=CATALOG_PATH)
    args = parser.parse_args(argv)
    if args.rows < 0 or not 0 <= args.invalid_ratio <= 1:
        parser.error("--rows must be >= 0 and --invalid-ratio within [0, 1]")
    prefix = args.prefix or f"GEN{args.seed}"
    try:
        expected = generate(
            args.out,
            args.rows,
            args.invalid_ratio,
            args.seed,
            args.crlf,
            prefix,
            args.catalog,
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(json.dumps({k: expected[k] for k in ("rows", "valid", "invalid")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
