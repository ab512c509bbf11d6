"""process_chunk: validate one slice of the file, store its orders, publish their events,
write its invalid rows. Every step is safe to run again (SQS delivers at least once)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import UTC, datetime

from oms import crash_points
from oms.config import get_settings
from oms.errors import OMSError, Unavailable
from oms.ingest import reasons
from oms.ingest.header import REQUIRED_COLUMNS, Header
from oms.ingest.invalid_file import invalid_rows_csv
from oms.ingest.reasons import Reason
from oms.ingest.rows import Limits, read_records
from oms.ingest.schema import InvalidRow, OrderRow, reject, validate_records
from oms.observability import metrics
from oms.orders import checks, events, outbox, store
from oms.pipeline.split import read_upload_header
from oms.stores import ims, s3
from oms.uploads import keys
from oms.uploads import repository as repo
from oms.uploads.status import ChunkStatus

log = logging.getLogger(__name__)

# A chunk is read whole; this bounds a worker's memory whatever the file holds (5,000
# records of the 64 KiB a record may have would be 320 MB: a real chunk is ~1 MB).
MAX_CHUNK_BYTES = 64 * 1024 * 1024


class ChunkTooLarge(OMSError):
    """The chunk cannot be read without holding too much: its rows are not processed."""


class PoisonChunk(OMSError):
    """The chunk stopped every worker that ran it: it is not run again."""


MORE_STARTS = 3  # starts beyond the retries (redeliveries of a lost worker's messages)


# The in-file case within one chunk is caught by the schema with the first line; across
# chunks or uploads the store's unique index catches it (without saying where: finding
# the holder would cost a collection scan on FerretDB, see oms/orders/store.py).
DUPLICATE_IN_STORE = Reason(
    "order_id",
    reasons.DUPLICATE_IN_STORE,
    "duplicate order_id, already used by another order "
    "(an earlier row of this file or an earlier upload)",
)


def process_chunk(upload_id: str, index: int) -> dict:
    """Run chunk ``index`` of ``upload_id``; returns its counts.

    Raises oms.errors.Unavailable when S3, IMS or Kafka cannot be reached (and pymongo's
    errors for MongoDB): the task retries. A chunk already done returns its recorded
    counts without doing anything.
    """
    chunk = repo.get_chunk(upload_id, index)
    upload = repo.get_upload(upload_id)
    if chunk["status"] == ChunkStatus.DONE:
        repo.add_chunk_counts(
            upload_id,
            index,
            chunk["counts"],
            chunk.get("by_hub", {}),
            chunk.get("invalid_by") or repo.EMPTY_INVALID_BY,
            stored=not upload.get("check_only"),
        )
        return chunk["counts"]
    if upload.get("cancel_requested"):  # sent before the cancel: it does not run
        repo.cancel_chunk(upload_id, index)
        log.info("chunk %s/%s: its upload was cancelled; not run", upload_id, index)
        return dict(repo.EMPTY_COUNTS)
    began = time.monotonic()
    clock = StageClock()
    attempt = repo.start_chunk_attempt(upload_id, index)
    if attempt > get_settings().task_max_retries + MORE_STARTS:
        # Started this often without ending: it kills whatever runs it (a worker lost,
        # a hard time limit). Celery sends such a message again as a new one, so SQS's
        # receive count never reaches its dead-letter limit: stop it here.
        raise PoisonChunk(
            f"chunk {index} was started {attempt - 1} times and never ended "
            "(it stopped its worker each time); not started again"
        )
    header = read_upload_header(upload)
    size = chunk["end"] - chunk["start"]
    if size > MAX_CHUNK_BYTES:
        raise ChunkTooLarge(
            f"chunk {index} is {size} bytes for {chunk['rows']} records: a record is far "
            f"larger than any order (an unclosed quote reads the rest of the file as one "
            f"cell?); fix the file and upload it again"
        )
    data = s3.get_range(upload["s3_key"], chunk["start"], chunk["end"])
    clock.lap("fetch")

    settings = get_settings()
    limits = Limits(settings.max_field_chars, settings.max_row_chars)
    records = list(read_records(data, header, chunk["first_line"], limits))
    clock.lap("parse")
    # Position of each record among the file's records (for its listing block); clamped
    # to the chunk's own range in case the reader sees more records than the splitter.
    first_ordinal = index * upload["chunk_rows"]
    last_position = max(chunk["rows"] - 1, 0)
    ordinal = {
        record.line: first_ordinal + min(position, last_position)
        for position, record in enumerate(records)
    }
    valid, invalid = validate_records(records)
    clock.lap("validate")
    valid, invalid = check_inventory(valid, invalid, header)
    clock.lap("ims")

    crash_points.reached("chunk.before_insert", index)
    created_at = datetime.now(UTC)
    documents = [
        store.order_document(row, upload_id, ordinal[row.line], created_at) for row in valid
    ]
    check_only = bool(upload.get("check_only"))
    if check_only:  # what storing would do, without storing (oms/orders/checks.py)
        outcome = checks.check_orders(upload_id, documents)
    else:
        outcome = store.insert_orders(
            documents,
            rerun_blocks=store.blocks_of(upload_id, first_ordinal, chunk["rows"])
            if attempt > 1
            else None,
        )
    clock.lap("insert")
    crash_points.reached("chunk.after_insert", index)
    by_line = {row.line: row for row in valid}
    invalid.extend(
        reject(by_line[doc["row_number"]], DUPLICATE_IN_STORE) for doc in outcome.duplicates
    )

    # Only a chunk whose events Kafka confirmed is done: else it is run again (the stored
    # orders are recognised, their events sent again with the same ids).
    stored = [] if check_only else outcome.stored
    unconfirmed = outbox.publish([events.order_created(doc) for doc in stored])
    if unconfirmed:
        raise Unavailable(
            f"Kafka did not confirm {len(unconfirmed)} of "
            f"{len(outcome.stored)} order.created events"
        )

    clock.lap("publish")
    crash_points.reached("chunk.after_publish", index)
    invalid.sort(key=lambda row: row.line)
    part = write_part(upload_id, index, header, invalid)
    clock.lap("invalid_part")
    counts = {
        "rows": len(outcome.stored) + len(invalid),
        "valid": len(outcome.stored),
        "invalid": len(invalid),
        "duplicate": sum(1 for row in invalid if _is_duplicate(row)),
    }
    by_hub = dict(Counter(doc["hub_id"] for doc in stored))
    invalid_by = count_reasons(invalid)
    repo.finish_chunk(
        upload_id, index, counts, by_hub, invalid_by, part, time.monotonic() - began, clock.seconds
    )
    repo.add_chunk_counts(upload_id, index, counts, by_hub, invalid_by, stored=not check_only)
    metrics.CHUNK_SECONDS.observe(time.monotonic() - began)
    for stage, seconds in clock.seconds.items():
        metrics.CHUNK_STAGE_SECONDS.labels(stage=stage).observe(seconds)
    log.info("chunk done", extra={"upload_id": upload_id, "chunk": index, **counts})
    return counts


class StageClock:
    """Seconds a chunk spends in each of its stages (fetch, parse, validate, ims, insert,
    publish, invalid_part), kept with the chunk and in /metrics: where its time goes.
    ``fetch`` runs from the chunk's start: its attempt count, the header, its bytes."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.monotonic()

    def lap(self, stage: str) -> None:
        """Charge the time since the previous lap to ``stage``."""
        now = time.monotonic()
        self.seconds[stage] = round(self.seconds.get(stage, 0.0) + now - self._last, 4)
        self._last = now


def check_inventory(
    valid: list[OrderRow], invalid: list[InvalidRow], header: Header
) -> tuple[list[OrderRow], list[InvalidRow]]:
    """Ask IMS, once for the chunk's distinct pairs, whether each SKU and hub exists.

    Rows already invalid are asked about too, so a row reports every failing field.
    Returns the rows still valid and all invalid rows (errors in column order).
    """

    def pair_of(row: InvalidRow) -> tuple[str, str]:
        return tuple(
            row.cells[header.index[name]].strip()  # type: ignore[return-value]
            if header.index[name] < len(row.cells)
            else ""
            for name in ("sku", "hub_id")
        )

    pairs = {(row.sku, row.hub_id) for row in valid}
    pairs |= {pair for row in invalid if any(pair := pair_of(row))}
    answers = ims.validate_pairs(pairs) if pairs else {}

    def unknown(sku: str, hub: str) -> list[Reason]:
        check = answers.get((sku, hub))
        errors: list[Reason] = []
        if check and sku and not check.sku_exists:
            errors.append(Reason("sku", reasons.UNKNOWN_SKU, f"unknown SKU {sku!r}"))
        if check and hub and not check.hub_exists:
            errors.append(Reason("hub_id", reasons.UNKNOWN_HUB, f"unknown hub {hub!r}"))
        return errors

    still_valid: list[OrderRow] = []
    all_invalid: list[InvalidRow] = []
    for row in invalid:
        refused = {error.field for error in row.errors}  # one reason per field is enough
        row.errors.extend(e for e in unknown(*pair_of(row)) if e.field not in refused)
        row.errors.sort(key=_column_position)
        all_invalid.append(row)
    for valid_row in valid:
        errors = unknown(valid_row.sku, valid_row.hub_id)
        if errors:
            all_invalid.append(reject(valid_row, *errors))
        else:
            still_valid.append(valid_row)
    return still_valid, all_invalid


def _column_position(error: Reason) -> int:
    """Sort key putting a row's errors in the contract's column order, row problems first."""
    field = error.field
    if field in REQUIRED_COLUMNS:
        return 1 + REQUIRED_COLUMNS.index(field)
    return 0 if field == "row" else len(REQUIRED_COLUMNS) + 1


def _is_duplicate(row: InvalidRow) -> bool:
    return any(error.rule in reasons.DUPLICATE_RULES for error in row.errors)


def count_reasons(invalid: list[InvalidRow]) -> dict[str, dict[str, int]]:
    """Invalid rows by field and by rule: a row counts once under each field and each
    rule it fails (so a row failing two fields counts under both)."""
    by_field: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    for row in invalid:
        by_field.update({error.field for error in row.errors})
        by_rule.update({error.rule for error in row.errors})
    return {"field": dict(by_field), "rule": dict(by_rule)}


def write_part(upload_id: str, index: int, header: Header, invalid: list[InvalidRow]) -> str | None:
    """This chunk's invalid rows as a part file (overwritten by a re-run, so idempotent)."""
    if not invalid:
        return None
    key = keys.part_key(upload_id, index)
    s3.put_bytes(key, invalid_rows_csv(invalid, len(header.columns)))
    return key
