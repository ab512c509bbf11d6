"""An ``.xlsx`` upload as the CSV the pipeline reads: its first sheet, row by row.

openpyxl reads the workbook in read-only mode (rows are streamed from the sheet's XML;
with the workaround below, memory does not grow with the sheet; the shared strings table
of a workbook, which Excel writes for text cells, is held whole, as Excel's format
requires), and each row becomes one CSV record. Cells are
written as an operator reads them in Excel, not as Excel stores them: a whole number
stored as a float (``3.0``) is ``3``, a date cell (a number with a date format) is
``2025-03-01``, a date-time ``2025-03-01 14:30:00``; text is kept as it is. Rows with no
value at all (Excel keeps formatted, empty rows) are left out, and trailing empty cells
beyond the header are dropped.
"""

from __future__ import annotations

import csv
import functools
import io
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

XLSX_TYPES = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
BATCH_ROWS = 1000  # CSV records encoded at once


@functools.cache
def _openpyxl() -> tuple[Callable[..., Any], type[Exception]]:
    """openpyxl's load_workbook and InvalidFileException, imported with the first workbook
    (so an API process that never receives one does not hold its 175 modules, about 13 MB
    of RSS) and with the workaround below installed."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException
    from openpyxl.worksheet import _reader

    original = _reader.iterparse
    _reader.iterparse = functools.partial(_iterparse_dropping_rows, original, _reader.ROW_TAG)
    return load_workbook, InvalidFileException


def _iterparse_dropping_rows(
    iterparse: Callable[..., Any],
    row_tag: str,
    source: Any,
    events: Any = None,
    **options: Any,
) -> Iterator[Any]:
    """openpyxl's own iterparse, but each ``<row>`` leaves its parent once read.

    Workaround for an openpyxl 3.1.5 defect: ``WorkSheetParser.parse`` (read-only mode)
    clears each ``<row>`` element after reading it but leaves the empty element in
    ``<sheetData>``, so memory grows by about 80 bytes per row for the whole sheet (80 MB
    for a million rows; measured with tracemalloc). Here the row is removed from its
    parent once openpyxl is done with it (when it asks for the next element), so reading
    holds one row at a time. Only ``end`` events reach openpyxl, as its default asks.
    """
    parents: list[Any] = []
    for event, element in iterparse(source, events=("start", "end"), **options):
        if event == "start":
            parents.append(element)
            continue
        parents.pop()
        yield event, element
        if parents and element.tag == row_tag:
            parents[-1].remove(element)


class NotAWorkbook(Exception):
    """The file cannot be read as an Excel workbook (the message says why)."""


def is_spreadsheet(filename: str, part_type: str) -> bool:
    return filename.lower().endswith(".xlsx") or part_type in XLSX_TYPES


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def csv_blocks(path: Path) -> Iterator[bytes]:
    """The first sheet of the workbook at ``path`` as UTF-8 CSV, in blocks."""
    load_workbook, invalid_file = _openpyxl()
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, invalid_file, KeyError, ValueError, OSError) as exc:
        raise NotAWorkbook(f"it cannot be read as an Excel workbook ({exc})") from exc
    try:
        if not workbook.worksheets:
            raise NotAWorkbook("the workbook has no sheet")
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        width: int | None = None
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        pending = 0
        for row in rows:
            cells = [cell_text(value) for value in row]
            if not any(cells):
                continue
            if width is None:  # the header: its last named column ends every row
                width = max(i + 1 for i, cell in enumerate(cells) if cell)
            if len(cells) > width and not any(cells[width:]):
                cells = cells[:width]
            writer.writerow(cells)
            pending += 1
            if pending == BATCH_ROWS:
                yield _take(buffer)
                pending = 0
        if pending:
            yield _take(buffer)
    finally:
        workbook.close()


def convert(workbook: Path, target: Path) -> int:
    """Write the CSV of ``workbook`` to ``target``; returns its size. Pure CPU and local
    files, so the API runs it in a real thread (``oms.stores.blocking``)."""
    size = 0
    with target.open("wb") as out:
        for block in csv_blocks(workbook):
            out.write(block)
            size += len(block)
    return size


def _take(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data
