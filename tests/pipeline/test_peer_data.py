"""Order files shaped like the ones other implementations of this service write: each is
processed with exact counts, or refused with exactly the columns it lacks.

The fixtures in ``peer_shapes/`` are ours and always run; ``peer_shapes/README.md`` lists
the shapes found in the outside corpus (``../shared/peer-data``, 23 files) and which
fixture reproduces each. When that corpus is present beside the checkout, every file of it
is uploaded too; in a clean clone that part is skipped.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from oms.ingest.header import REQUIRED_COLUMNS
from tests.namespaces import Written, assert_nothing_written
from tests.pipeline.helpers import invalid_rows, wait_for_upload

pytestmark = pytest.mark.integration

SHAPES_DIR = Path(__file__).resolve().parent / "peer_shapes"
PEER_DATA = Path(__file__).resolve().parents[3] / "shared" / "peer-data"
PEER_FILES = sorted(PEER_DATA.glob("*.csv"))
NO_PEER_DATA = f"no outside corpus at {PEER_DATA} (a clean clone has none)"

_NO_ORDER_ID = ["order_id"]
_CUSTOMER_TO_PRODUCT = ["customer_name", "customer_email", "product_name"]
_AFTER_HUB = ["unit_price", "total_amount", "order_date", "shipping_address"]


@dataclass(frozen=True)
class Refused:
    """Refused at upload: HTTP status, error code, the exact missing columns (in contract
    order) and the renaming suggestions (missing column -> found column)."""

    missing: list[str]
    suggestions: dict[str, str]
    final_newline: bool = True
    status: int = 422
    code: str = "missing_columns"


@dataclass(frozen=True)
class Completed:
    """Processed to the end: exact counts, and the failing fields of each invalid row
    (by row_number, in the order the errors column lists them)."""

    rows: int
    valid: int
    invalid: int
    duplicate: int
    invalid_fields: dict[int, list[str]] = field(default_factory=dict)
    final_newline: bool = True


SHAPES: dict[str, Refused | Completed] = {
    "tenant_seller_hub_sku_quantity.csv": Refused(
        missing=[*_NO_ORDER_ID, *_CUSTOMER_TO_PRODUCT, "sku", *_AFTER_HUB],
        suggestions={"sku": "sku_id"},
    ),
    "tenant_order_sku_quantity_seller_hub_price.csv": Refused(
        missing=[*_CUSTOMER_TO_PRODUCT, "sku", *_AFTER_HUB],
        suggestions={"sku": "sku_id", "unit_price": "price"},
    ),
    "capitalised_tenant_order_customer_hub_sku_quantity_price.csv": Refused(
        missing=["customer_email", "product_name", "sku", *_AFTER_HUB],
        suggestions={"sku": "sku_id", "unit_price": "price"},
    ),
    "order_sku_quantity.csv": Refused(
        missing=[*_CUSTOMER_TO_PRODUCT, "hub_id", *_AFTER_HUB], suggestions={}
    ),
    "order_sku_quantity_seller_hub_price.csv": Refused(
        missing=[*_CUSTOMER_TO_PRODUCT, "sku", *_AFTER_HUB],
        suggestions={"sku": "sku_id", "unit_price": "price"},
    ),
    "order_sku_quantity_seller_hub_price_tenant_no_final_newline.csv": Refused(
        missing=[*_CUSTOMER_TO_PRODUCT, "sku", *_AFTER_HUB],
        suggestions={"sku": "sku_id", "unit_price": "price"},
        final_newline=False,
    ),
    "id_tenant_seller_hub_sku_status_quantity_created_at.csv": Refused(
        missing=[*_NO_ORDER_ID, *_CUSTOMER_TO_PRODUCT, "sku", *_AFTER_HUB],
        suggestions={"order_id": "_id", "sku": "sku_id", "order_date": "created_at"},
    ),
    "sku_location_tenant_seller.csv": Refused(
        missing=[*_NO_ORDER_ID, *_CUSTOMER_TO_PRODUCT, "hub_id", "quantity", *_AFTER_HUB],
        suggestions={"hub_id": "location"},
        final_newline=False,
    ),
    "sku_location_tenant_seller_header_only.csv": Refused(
        missing=[*_NO_ORDER_ID, *_CUSTOMER_TO_PRODUCT, "hub_id", "quantity", *_AFTER_HUB],
        suggestions={"hub_id": "location"},
        final_newline=False,
    ),
    "sku_location.csv": Refused(
        missing=[*_NO_ORDER_ID, *_CUSTOMER_TO_PRODUCT, "hub_id", "quantity", *_AFTER_HUB],
        suggestions={"hub_id": "location"},
        final_newline=False,
    ),
    # Not a peer shape: their kinds of values under all our columns (see the README).
    # Lines 2-4, 10, 11 are valid (UUID, numeric, ORD- and upper-case ids; prices 599,
    # 249.50, 299.00; "...Z" and plain dates; last cell "2 " with no final newline).
    "peer_values_in_our_columns.csv": Completed(
        rows=10,
        valid=5,
        invalid=5,
        duplicate=1,
        final_newline=False,
        invalid_fields={
            5: ["quantity"],  # -10
            6: ["quantity"],  # abc
            7: ["hub_id"],  # empty cell
            8: ["order_id"],  # repeats line 2's order id
            9: ["sku", "hub_id"],  # UUIDs, unknown to IMS
        },
    ),
}

_TOKEN = re.compile(rb"\{\{(uuid|UUID|num):([A-Za-z0-9]+)\}\}")


def render(template: bytes) -> bytes:
    """Replace each ``{{kind:name}}`` token by a fresh value of that kind (the same token by
    the same value), so order ids are new on every upload; other bytes are kept as is."""
    values: dict[bytes, bytes] = {}
    base = uuid.uuid4().int % 10**12

    def fresh(match: re.Match[bytes]) -> bytes:
        if match[0] not in values:
            kind = match[1].decode()
            value = (
                str(uuid.uuid4())
                if kind == "uuid"
                else str(uuid.uuid4()).upper()
                if kind == "UUID"
                else str(base + len(values))
            )
            values[match[0]] = value.encode()
        return values[match[0]]

    return _TOKEN.sub(fresh, template)


def _upload(api, name: str, data: bytes):
    return api.post(
        "/upload", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


def _header(data: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_every_shape_fixture_has_an_expected_outcome():
    assert sorted(p.name for p in SHAPES_DIR.glob("*.csv")) == sorted(SHAPES)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_each_peer_shape_has_its_exact_outcome(api, pipeline, settings, name):
    expected = SHAPES[name]
    template = (SHAPES_DIR / name).read_bytes()
    # The quirks the fixture exists for: no BOM, no CR, (no) final newline as recorded.
    assert not template.startswith(b"\xef\xbb\xbf") and b"\r" not in template
    assert template.endswith(b"\n") == expected.final_newline
    data = render(template)
    before = Written.now(settings)

    response = _upload(api, name, data)

    body = response.get_json()
    if isinstance(expected, Refused):
        assert response.status_code == expected.status, body
        assert body["code"] == expected.code
        assert body["missing"] == expected.missing
        assert body["suggestions"] == expected.suggestions
        assert body["found"] == _header(data)
        assert all(column in body["message"] for column in expected.missing)
        assert_nothing_written(settings, before)
        return
    assert response.status_code == 202, body
    upload = wait_for_upload(api, body["upload_id"])
    assert upload["status"] == "completed", upload
    assert upload["counts"] == {
        "rows": expected.rows,
        "valid": expected.valid,
        "invalid": expected.invalid,
        "duplicate": expected.duplicate,
    }
    fields = {
        int(row["row_number"]): [e.split(":", 1)[0] for e in row["errors"].split("; ")]
        for row in invalid_rows(api, upload)
    }
    assert fields == expected.invalid_fields


# --- the outside corpus, when it is beside the checkout --------------------------------


def test_peer_data_is_present():
    if not PEER_DATA.is_dir():
        pytest.skip(NO_PEER_DATA)
    assert len(PEER_FILES) >= 20, f"expected the peer files in {PEER_DATA}"


@pytest.mark.parametrize(
    "path",
    PEER_FILES or [pytest.param(None, marks=pytest.mark.skip(reason=NO_PEER_DATA))],
    ids=[p.name for p in PEER_FILES] or ["no-peer-data"],
)
def test_each_peer_file_is_processed_or_refused_precisely(api, pipeline, path):
    data = path.read_bytes()
    header = _header(data)
    missing = [c for c in REQUIRED_COLUMNS if c not in {h.strip().lower() for h in header}]

    response = _upload(api, path.name, data)

    body = response.get_json()
    if missing:
        assert response.status_code == 422, body
        assert body["code"] == "missing_columns"
        assert body["missing"] == missing
        assert all(column in body["message"] for column in missing)
        assert set(body["suggestions"]) <= set(missing)
        assert set(body["suggestions"].values()) <= set(header)
    else:
        assert response.status_code == 202, body
        assert wait_for_upload(api, body["upload_id"])["status"] == "completed"
