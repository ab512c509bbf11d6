"""Parse the bytes of one chunk into raw records, keeping going past bad rows.

A chunk (see ``chunking.ChunkSpan``) starts at a record boundary, so ``csv.reader`` reads
it on its own. The fast path decodes the whole chunk and parses it in one pass; if the
chunk is not valid UTF-8 or the csv module raises, the chunk is re-read record by record
so that the problem is reported on the affected record only.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from oms.ingest.chunking import count_line_breaks, ends_inside_quotes, split_into_chunks
from oms.ingest.header import Header
from oms.ingest.reasons import Reason

UNCLOSED_QUOTE = Reason(
    "row",
    "unclosed_quote",
    'a quoted value is never closed (a " is missing), '
    "so everything up to the end of the file was read as this row",
)


@dataclass(frozen=True)
class Limits:
    """What one record may hold (OMS_MAX_FIELD_CHARS, OMS_MAX_ROW_CHARS): more makes the
    row invalid with the reason, and its cells are cut to size for the invalid file."""

    max_field_chars: int = 1000
    max_record_chars: int = 65_536


# The csv module refuses a field over 128 KiB by default, which would read a row with one
# long cell as a broken row; let it read long cells, so the limits above report them.
CSV_FIELD_LIMIT = 16 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))

# C0 control characters and DEL, but tab, CR and LF (which quoted cells may hold).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CUT_MARK = "..."


@dataclass(frozen=True)
class RawRecord:
    """One non-blank record as found in the file, before any validation.

    ``line`` is the physical line (header = 1) where the record starts; ``values`` maps
    each required column present in the header to its raw cell ("" if the row is short);
    ``problems`` are "row: ..." messages about the record's shape or encoding.
    """

    line: int
    cells: tuple[str, ...]
    values: dict[str, str] = field(hash=False)
    problems: list[Reason] = field(default_factory=list, hash=False)


def read_records(
    data: bytes, header: Header, first_line: int, limits: Limits = Limits()
) -> Iterator[RawRecord]:  # noqa: B008  (frozen)
    """Yield the non-blank records of one chunk's bytes (exactly a ``ChunkSpan`` range).

    ``first_line`` is the chunk's ``ChunkSpan.first_line``.
    """
    unclosed = ends_inside_quotes(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        yield from _read_one_by_one(data, header, first_line, unclosed, 0, limits)
        return
    # One search of the chunk spares one per cell when, as nearly always, none is there.
    clean = _CONTROL.search(text) is None
    reader = csv.reader(io.StringIO(text, newline=""))
    yielded = 0
    lines_before = 0
    pending: RawRecord | None = None  # held back: the last one may need UNCLOSED_QUOTE
    try:
        for cells in reader:
            if cells:
                if pending is not None:
                    yield pending
                    yielded += 1
                pending = _record(first_line + lines_before, cells, header, [], limits, clean=clean)
            lines_before = reader.line_num
    except csv.Error:
        # Re-read the rest record by record, so only the culprit carries the error.
        yield from _read_one_by_one(data, header, first_line, unclosed, yielded, limits)
        return
    if pending is not None:
        if unclosed:
            pending.problems.append(UNCLOSED_QUOTE)
        yield pending


def _read_one_by_one(
    data: bytes, header: Header, first_line: int, unclosed: bool, skip: int, limits: Limits
) -> Iterator[RawRecord]:
    """Slow path: parse each record separately, skipping the first ``skip`` records."""
    spans = list(split_into_chunks([data], 0, 1, first_line))
    for span in spans[skip:]:
        raw = data[span.start : span.end]
        # Only the first chunk can start with blank lines; the record starts after them.
        body = raw.lstrip(b"\r\n")
        line = span.first_line + count_line_breaks(raw, 0, len(raw) - len(body))
        problems: list[Reason] = []
        try:
            text = body.decode("utf-8")
            undecodable = False
        except UnicodeDecodeError:
            text = body.decode("utf-8", "surrogateescape")
            undecodable = True
        parsed = True
        try:
            rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
            cells = rows[0] if rows else [""]
        except csv.Error as exc:
            problems.append(Reason("row", "not_csv", f"cannot be read as CSV ({exc})"))
            cells = [text.rstrip("\r\n")]
            parsed = False
        if undecodable:
            bad = [i for i, cell in enumerate(cells) if _has_undecodable(cell)]
            names = ", ".join(_column_name(header, i) for i in bad) or "this row"
            problems.insert(
                0,
                Reason(
                    "row",
                    "not_utf8",
                    f"{names} contains characters that are not valid UTF-8 text; "
                    'save the file as "CSV UTF-8" and upload it again',
                ),
            )
            cells = [_replace_undecodable(c) for c in cells]
        if unclosed and span.index == len(spans) - 1:
            problems.append(UNCLOSED_QUOTE)
        yield _record(line, cells, header, problems, limits, check_width=parsed)


def _record(
    line: int,
    cells: list[str],
    header: Header,
    problems: list[Reason],
    limits: Limits,
    check_width: bool = True,
    clean: bool = False,
) -> RawRecord:
    """``clean``: the caller knows the cells hold no control character."""
    if not clean or sum(len(cell) for cell in cells) > min(
        limits.max_field_chars, limits.max_record_chars
    ):
        cells = _bounded(cells, header, problems, limits)
    n = len(cells)
    if check_width and n != len(header.columns):
        problems.append(
            Reason("row", "field_count", f"has {n} fields, header has {len(header.columns)}")
        )
    values = {name: cells[pos] if pos < n else "" for name, pos in header.index.items()}
    return RawRecord(line=line, cells=tuple(cells), values=values, problems=problems)


def _bounded(cells: list[str], header: Header, problems: list[Reason], limits: Limits) -> list[str]:
    """Report and neutralise what no cell may hold: control characters (NUL included:
    replaced by U+FFFD, so the invalid file is clean text), and more characters than the
    limits (cut, so one row cannot fill a worker's memory or the invalid file)."""
    total = sum(len(cell) for cell in cells)
    if total > limits.max_record_chars:
        problems.append(
            Reason(
                "row",
                "too_long",
                f"has {total} characters; at most {limits.max_record_chars} are allowed",
            )
        )
    bounded = []
    for position, cell in enumerate(cells):
        name = _field_name(header, position)
        found = _CONTROL.search(cell)
        if found:
            code = ord(found.group())
            kind = "a NUL byte" if code == 0 else f"a control character (U+{code:04X})"
            problems.append(Reason(name, "control_characters", f"contains {kind}"))
            cell = _CONTROL.sub("\ufffd", cell)
        if len(cell) > limits.max_field_chars:
            problems.append(
                Reason(
                    name,
                    "too_long",
                    f"has {len(cell)} characters; at most {limits.max_field_chars} are allowed",
                )
            )
            cell = cell[: limits.max_field_chars] + _CUT_MARK
        bounded.append(cell)
    return bounded


def _field_name(header: Header, position: int) -> str:
    """The required column's name at ``position``, else "row" (an extra column)."""
    for name, index in header.index.items():
        if index == position:
            return name
    return "row"


def _has_undecodable(cell: str) -> bool:
    """A surrogate escape (U+DC80..U+DCFF) marks a byte that was not valid UTF-8."""
    return any("\udc80" <= ch <= "\udcff" for ch in cell)


def _replace_undecodable(cell: str) -> str:
    return cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _column_name(header: Header, position: int) -> str:
    if position < len(header.columns) and header.columns[position].strip():
        return header.columns[position].strip()
    return f"column {position + 1}"
