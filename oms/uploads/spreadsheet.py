"""An ``.xlsx`` upload as the CSV the pipeline reads: its first sheet, row by row.

openpyxl reads the workbook in read-only mode (rows are streamed from the sheet's XML,
so memory does not grow with the sheet), and each row becomes one CSV record. Cells are
written as an operator reads them in Excel, not as Excel stores them: a whole number
stored as a float (``3.0``) is ``3``, a date cell (a number with a date format) is
``2025-03-01``, a date-time ``2025-03-01 14:30:00``; text is kept as it is. Rows with no
value at all (Excel keeps formatted, empty rows) are left out, and trailing empty cells
beyond the header are dropped.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

XLSX_TYPES = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
BATCH_ROWS = 1000  # CSV records encoded at once


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
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
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


def _take(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data
