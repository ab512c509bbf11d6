"""Read and check the header line of an uploaded order CSV.

The worker passes the first bytes of the object (at least ``HEAD_BYTES``, or the whole file
when it is smaller). A file that cannot be a CSV, or whose header cannot be read, raises
``HeaderError`` with a stable ``code``; a header that merely lacks required columns is
returned normally, and the caller rejects the upload with ``Header.missing_message()``.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field

from oms.errors import OMSError
from oms.ingest.chunking import count_line_breaks, first_record_end

REQUIRED_COLUMNS: tuple[str, ...] = (
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
)

#: How many leading bytes callers should pass to ``read_header`` (or the whole file).
HEAD_BYTES = 64 * 1024

UTF8_BOM = b"\xef\xbb\xbf"

# Leading bytes of file types people upload by mistake, with a name an operator knows.
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive or an Excel .xlsx workbook"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel .xls or other Office document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"%PDF-", "a PDF document"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)

# Names listed in missing_message() before it abbreviates.
_MAX_FOUND_LISTED = 30


class HeaderError(OMSError):
    """The file as a whole cannot be ingested; ``code`` is stable, ``message`` is for people.

    Codes: ``empty_file``, ``not_csv``, ``not_utf8``, ``no_header``, ``header_too_long``,
    ``bad_header``, ``duplicate_columns``, ``too_many_columns``, ``bad_mapping``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"HeaderError({self.code!r}, {self.message!r})"


@dataclass(frozen=True)
class Header:
    """The parsed header line.

    ``data_offset`` is the byte offset in the file (BOM included) just after the header's
    line terminator and any blank lines after it, where the first data record starts.
    ``data_line`` is the physical line number at that offset: 2, unless a quoted header
    cell contains a line break or blank lines follow the header.
    ``duplicates`` lists normalized names of *non-required* columns that appear more than
    once (a duplicated required column raises instead, as it would be ambiguous).
    """

    columns: tuple[str, ...]
    normalized: tuple[str, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    duplicates: tuple[str, ...]
    data_offset: int
    index: dict[str, int] = field(hash=False)
    data_line: int = 2

    def missing_message(self) -> str:
        """Return the rejection message naming the missing columns ("" if none missing)."""
        if not self.missing:
            return ""
        shown = [c if c.strip() else "(blank)" for c in self.columns[:_MAX_FOUND_LISTED]]
        more = len(self.columns) - len(shown)
        found = ", ".join(shown) + (f", ... and {more} more" if more > 0 else "")
        message = f"missing required columns: {', '.join(self.missing)} (found: {found})"
        if len(self.columns) == 1:
            for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
                if sep in self.columns[0]:
                    message += f"; the file seems to separate columns with {name}, not commas"
                    break
        hints = self.renaming_hints()
        if hints:
            message += "; did you mean " + ", ".join(
                f"{found!r} for {wanted}" for wanted, found in hints.items()
            )
        return message

    def renaming_hints(self) -> dict[str, str]:
        """Missing column -> a found column that probably means it (``sku_id`` -> ``sku``)."""
        present = [n for n in self.normalized if n and n not in REQUIRED_COLUMNS]
        hints: dict[str, str] = {}
        for wanted in self.missing:
            candidates = [n for n in present if n not in hints.values()]
            alias = next((n for n in candidates if n in _ALIASES.get(wanted, ())), None)
            close = difflib.get_close_matches(wanted, candidates, n=1, cutoff=0.75)
            if alias or close:
                hints[wanted] = self.columns[self.normalized.index(alias or close[0])]
        return hints


# Names other order exports use for our columns (seen in other implementations' files).
_ALIASES: dict[str, tuple[str, ...]] = {
    "sku": ("sku_id", "sku_code", "item_sku"),
    "hub_id": ("hub", "location", "location_id", "warehouse_id"),
    "unit_price": ("price", "item_price"),
    "total_amount": ("total", "amount", "order_total"),
    "customer_email": ("email",),
    "customer_name": ("name", "customer"),
    "order_date": ("date", "created_at", "ordered_at"),
    "shipping_address": ("address",),
    "order_id": ("id", "_id", "order_number"),
}


def normalize_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    """``mapping`` with names as the header compares them (trimmed, lower case); raises
    HeaderError("bad_mapping") when a target is not an OMS column."""
    normalized = {
        source.strip().lower(): target.strip().lower() for source, target in mapping.items()
    }
    wrong = sorted(target for target in normalized.values() if target not in REQUIRED_COLUMNS)
    if wrong:
        raise HeaderError(
            "bad_mapping",
            f"the mapping names {', '.join(map(repr, wrong))}, which OMS does not have "
            f"(its columns: {', '.join(REQUIRED_COLUMNS)})",
        )
    return normalized


def apply_mapping(normalized: tuple[str, ...], mapping: Mapping[str, str]) -> tuple[str, ...]:
    """The header's normalized names with the mapped ones renamed; every column the
    mapping names must be in the header."""
    renames = normalize_mapping(mapping)
    absent = sorted(source for source in renames if source not in normalized)
    if absent:
        raise HeaderError(
            "bad_mapping",
            f"the mapping renames {', '.join(map(repr, absent))}, which the file does not "
            f"have (found: {', '.join(normalized)})",
        )
    return tuple(renames.get(name, name) for name in normalized)


def check_looks_like_csv(head: bytes) -> None:
    """Raise ``HeaderError("not_csv")`` if ``head`` is clearly not a text CSV file.

    A spreadsheet, archive or PDF uploaded by mistake is recognised by its signature;
    anything else containing NUL bytes is binary (UTF-8 text never contains NUL).
    """
    for signature, kind in _BINARY_SIGNATURES:
        if head.startswith(signature):
            raise HeaderError(
                "not_csv",
                f"the file is {kind}, not a CSV file; export or save it as CSV (UTF-8)",
            )
    if b"\x00" in head:
        raise HeaderError(
            "not_csv",
            "the file contains binary data (NUL bytes); it is not a CSV text file",
        )


MAX_COLUMNS = 200  # OMS_MAX_COLUMNS; the contract has 11


def read_header(
    head: bytes,
    *,
    whole_file: bool | None = None,
    max_columns: int = MAX_COLUMNS,
    mapping: Mapping[str, str] | None = None,
) -> Header:
    """Parse the header line found at the start of ``head``.

    ``whole_file`` says whether ``head`` is the entire file; by default it is assumed when
    ``head`` is shorter than ``HEAD_BYTES``. It decides whether a header without a line
    terminator is a header-only file (fine) or a header longer than ``head`` (error).
    ``mapping`` (file column -> OMS column) reads the file's columns under OMS's names;
    ``columns`` keeps the file's own names (the invalid file shows those).
    """
    if whole_file is None:
        whole_file = len(head) < HEAD_BYTES
    check_looks_like_csv(head)
    start = len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0
    if not head[start:].strip():
        if whole_file:
            raise HeaderError("empty_file", "the file is empty")
        raise HeaderError("no_header", "the file starts with blank lines instead of a header")
    if head[start] in b"\r\n":
        raise HeaderError(
            "no_header",
            "the first line is empty; it must be the header with the column names",
        )

    data_offset = first_record_end(head, start, whole_file)
    if data_offset is None:
        raise HeaderError(
            "header_too_long",
            f"no end of the header line in the first {len(head)} bytes; "
            "is this a CSV file with one order per line?",
        )
    try:
        # A record ends in a quote or a character other than a line break, so the
        # line breaks at its end are its terminator and the blank lines after it.
        text = head[start:data_offset].rstrip(b"\r\n").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HeaderError(
            "not_utf8",
            f"the header line is not valid UTF-8 text (byte {exc.start + start}); "
            "save the file as CSV UTF-8",
        ) from None
    try:
        columns = tuple(next(csv.reader(io.StringIO(text, newline="")), []))
    except csv.Error as exc:
        raise HeaderError("bad_header", f"the header line cannot be read as CSV: {exc}") from None
    if not any(c.strip() for c in columns):
        raise HeaderError("no_header", "the first line has no column names")
    if len(columns) > max_columns:
        raise HeaderError(
            "too_many_columns",
            f"the header has {len(columns)} columns; at most {max_columns} are accepted "
            f"(the order contract has {len(REQUIRED_COLUMNS)})",
        )

    normalized = tuple(c.strip().lower() for c in columns)
    if mapping:
        normalized = apply_mapping(normalized, mapping)
    positions: dict[str, list[int]] = {}
    for pos, name in enumerate(normalized):
        positions.setdefault(name, []).append(pos)
    clashes = [n for n in REQUIRED_COLUMNS if len(positions.get(n, ())) > 1]
    if clashes:
        detail = "; ".join(
            f"{n} (columns {', '.join(str(p + 1) for p in positions[n])})" for n in clashes
        )
        raise HeaderError("duplicate_columns", f"required columns appear more than once: {detail}")

    required = set(REQUIRED_COLUMNS)
    return Header(
        columns=columns,
        normalized=normalized,
        missing=tuple(n for n in REQUIRED_COLUMNS if n not in positions),
        extra=tuple(c for c, n in zip(columns, normalized, strict=True) if n not in required),
        duplicates=tuple(n for n, p in positions.items() if n and len(p) > 1),
        data_offset=data_offset,
        index={n: positions[n][0] for n in REQUIRED_COLUMNS if n in positions},
        data_line=1 + count_line_breaks(head, start, data_offset),
    )
