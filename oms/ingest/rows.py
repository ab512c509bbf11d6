"""Parse the bytes of one chunk into raw records, keeping going past bad rows.

A chunk (see ``chunking.ChunkSpan``) starts at a record boundary, so ``csv.reader`` reads
it on its own. The fast path decodes the whole chunk and parses it in one pass; if the
chunk is not valid UTF-8 or the csv module raises, the chunk is re-read record by record
so that the problem is reported on the affected record only.
"""

from __future__ import annotations

import csv
import io
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


def read_records(data: bytes, header: Header, first_line: int) -> Iterator[RawRecord]:
    """Yield the non-blank records of one chunk's bytes (exactly a ``ChunkSpan`` range).

    ``first_line`` is the chunk's ``ChunkSpan.first_line``.
    """
    unclosed = ends_inside_quotes(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        yield from _read_one_by_one(data, header, first_line, unclosed, skip=0)
        return
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
                pending = _record(first_line + lines_before, cells, header, [])
            lines_before = reader.line_num
    except csv.Error:
        # Re-read the rest record by record, so only the culprit carries the error.
        yield from _read_one_by_one(data, header, first_line, unclosed, skip=yielded)
        return
    if pending is not None:
        if unclosed:
            pending.problems.append(UNCLOSED_QUOTE)
        yield pending


def _read_one_by_one(
    data: bytes, header: Header, first_line: int, unclosed: bool, skip: int
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
        yield _record(line, cells, header, problems, check_width=parsed)


def _record(
    line: int,
    cells: list[str],
    header: Header,
    problems: list[Reason],
    check_width: bool = True,
) -> RawRecord:
    n = len(cells)
    if check_width and n != len(header.columns):
        problems.append(
            Reason("row", "field_count", f"has {n} fields, header has {len(header.columns)}")
        )
    values = {name: cells[pos] if pos < n else "" for name, pos in header.index.items()}
    return RawRecord(line=line, cells=tuple(cells), values=values, problems=problems)


def _has_undecodable(cell: str) -> bool:
    """A surrogate escape (U+DC80..U+DCFF) marks a byte that was not valid UTF-8."""
    return any("\udc80" <= ch <= "\udcff" for ch in cell)


def _replace_undecodable(cell: str) -> str:
    return cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _column_name(header: Header, position: int) -> str:
    if position < len(header.columns) and header.columns[position].strip():
        return header.columns[position].strip()
    return f"column {position + 1}"
