"""The seed catalog: hubs, SKUs and starting stock per (sku, hub_id), read from a JSON file.

The file is the single source for test fixtures, the sample CSV and the order generator, so
it is checked on load: a typo there would otherwise surface as puzzling "unknown sku" rows.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypedDict

CATALOG_PATH = Path(__file__).with_name("catalog.json")


class Hub(TypedDict):
    hub_id: str
    name: str
    city: str


class Sku(TypedDict):
    sku: str
    name: str
    unit_price: str  # a decimal string: money stays exact end to end


class StockLine(TypedDict):
    sku: str
    hub_id: str
    quantity: int


class Catalog(TypedDict):
    hubs: list[Hub]
    skus: list[Sku]
    stock: list[StockLine]


class CatalogError(ValueError):
    """The catalog file is malformed."""


def load_catalog(path: Path | str = CATALOG_PATH) -> Catalog:
    with open(path, encoding="utf-8") as fh:
        catalog = json.load(fh)
    check_catalog(catalog)
    return catalog


def check_catalog(catalog: Catalog) -> None:
    """Raise CatalogError unless ids are unique and every stock line names a known sku/hub."""
    hub_ids = _unique_ids([h["hub_id"] for h in catalog["hubs"]], "hub_id")
    sku_ids = _unique_ids([s["sku"] for s in catalog["skus"]], "sku")
    for sku in catalog["skus"]:
        try:
            price = Decimal(sku["unit_price"])
        except (InvalidOperation, TypeError) as exc:
            raise CatalogError(f"{sku['sku']}: unit_price is not a decimal string") from exc
        if price < 0 or price.as_tuple().exponent < -2:
            raise CatalogError(f"{sku['sku']}: unit_price must be >= 0 with at most 2 decimals")
    pairs = set()
    for line in catalog["stock"]:
        pair = (line["sku"], line["hub_id"])
        if line["sku"] not in sku_ids or line["hub_id"] not in hub_ids:
            raise CatalogError(f"stock line {pair} names an unknown sku or hub")
        if pair in pairs:
            raise CatalogError(f"stock line {pair} appears twice")
        if not isinstance(line["quantity"], int) or line["quantity"] < 0:
            raise CatalogError(f"stock line {pair}: quantity must be an integer >= 0")
        pairs.add(pair)


def _unique_ids(ids: list[str], name: str) -> set[str]:
    unique = set(ids)
    if len(unique) != len(ids) or not all(isinstance(i, str) and i for i in ids):
        raise CatalogError(f"{name} values must be non-empty and unique")
    return unique
