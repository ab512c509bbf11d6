"""process_chunk: validate one slice of the file, store its orders, publish their events,
write its invalid rows. Every step is safe to run again (SQS delivers at least once)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime, timezone

from oms.ingest.header import Header
from oms.ingest.invalid_file import invalid_rows_csv
from oms.ingest.rows import read_records
from oms.ingest.schema import InvalidRow, OrderRow, reject, validate_records
from oms.orders import events, outbox, store
from oms.pipeline import keys
from oms.pipeline.split import read_upload_header
from oms.stores import ims, s3
from oms.uploads import repository as repo
from oms.uploads.status import ChunkStatus

log = logging.getLogger(__name__)

# The in-file case within one chunk is caught by the schema with the first line; across
# chunks or uploads the store's unique index catches it (without saying where: finding
# the holder would cost a collection scan on FerretDB, see oms/orders/store.py).
DUPLICATE_IN_STORE = ("order_id: duplicate order_id, already used by another order "
                      "(an earlier row of this file or an earlier upload)")


def process_chunk(upload_id: str, index: int) -> dict:
    """Run chunk ``index`` of ``upload_id``; returns its counts.

    Raises oms.errors.Unavailable when S3, IMS or Kafka cannot be reached (and pymongo's
    errors for MongoDB): the task retries. A chunk already done returns its recorded
    counts without doing anything.
    """
    chunk = repo.get_chunk(upload_id, index)
    if chunk["status"] == ChunkStatus.DONE:
        repo.add_chunk_counts(upload_id, index, chunk["counts"], chunk.get("by_hub", {}))
        return chunk["counts"]
    began = time.monotonic()
    attempt = repo.start_chunk_attempt(upload_id, index)
    upload = repo.get_upload(upload_id)
    header = read_upload_header(upload["s3_key"])
    data = s3.get_range(upload["s3_key"], chunk["start"], chunk["end"])

    valid, invalid = validate_records(read_records(data, header, chunk["first_line"]))
    valid, unknown = check_inventory(valid)
    invalid.extend(unknown)

    created_at = datetime.now(timezone.utc)
    outcome = store.insert_orders(
        [store.order_document(row, upload_id, created_at) for row in valid],
        rerun=attempt > 1,
    )
    by_line = {row.line: row for row in valid}
    invalid.extend(reject(by_line[doc["row_number"]], DUPLICATE_IN_STORE)
                   for doc in outcome.duplicates)

    unconfirmed = outbox.publish([events.order_created(doc) for doc in outcome.stored])

    invalid.sort(key=lambda row: row.line)
    part = write_part(upload_id, index, header, invalid)
    counts = {
        "rows": len(outcome.stored) + len(invalid),
        "valid": len(outcome.stored),
        "invalid": len(invalid),
        "duplicate": sum(1 for row in invalid if _is_duplicate(row)),
    }
    by_hub = dict(Counter(doc["hub_id"] for doc in outcome.stored))
    repo.finish_chunk(upload_id, index, counts, by_hub, part, unconfirmed,
                      time.monotonic() - began)
    repo.add_chunk_counts(upload_id, index, counts, by_hub)
    log.info("chunk done", extra={"upload_id": upload_id, "chunk": index, **counts})
    return counts


def check_inventory(rows: list[OrderRow]) -> tuple[list[OrderRow], list[InvalidRow]]:
    """Split rows by whether IMS knows their SKU and hub (one call for the distinct pairs)."""
    if not rows:
        return [], []
    answers = ims.validate_pairs({(r.sku, r.hub_id) for r in rows})
    known: list[OrderRow] = []
    unknown: list[InvalidRow] = []
    for row in rows:
        check = answers[(row.sku, row.hub_id)]
        if check.valid:
            known.append(row)
            continue
        errors = []
        if not check.sku_exists:
            errors.append(f"sku: unknown SKU {row.sku!r}")
        if not check.hub_exists:
            errors.append(f"hub_id: unknown hub {row.hub_id!r}")
        unknown.append(reject(row, *errors))
    return known, unknown


def _is_duplicate(row: InvalidRow) -> bool:
    return any(error.startswith("order_id: duplicate order_id") for error in row.errors)


def write_part(upload_id: str, index: int, header: Header, invalid: list[InvalidRow]) -> str | None:
    """This chunk's invalid rows as a part file (overwritten by a re-run, so idempotent)."""
    if not invalid:
        return None
    key = keys.part_key(upload_id, index)
    s3.put_bytes(key, invalid_rows_csv(invalid, len(header.columns)))
    return key
