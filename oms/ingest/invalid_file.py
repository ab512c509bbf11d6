"""Write the invalid-records CSV: the original columns, then ``row_number`` and ``errors``.

Each chunk writes a headerless part (``invalid_rows_csv``); finalisation writes
``invalid_header`` and then the parts in chunk order, so plain byte concatenation gives
the whole file. Output is UTF-8 with "\\n" line ends and minimal quoting, and reads back
with ``csv.reader`` into exactly the cells written.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence

from oms.ingest.schema import InvalidRow, format_errors

ROW_NUMBER_COLUMN = "row_number"
ERRORS_COLUMN = "errors"

# First characters that make Excel, LibreOffice or Google Sheets treat a cell as a formula
# (OWASP "CSV Injection"); tab and carriage return are listed there as well.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula with a single quote.

    Plain negative numbers such as "-5" are prefixed too: telling a harmless "-5" from
    "-2+3+cmd|' /C calc'!A0" needs a formula parser, and the invalid file is read by
    people fixing rows, for whom "'-5" is unambiguous. The original cell is never lost.
    """
    if cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell


def invalid_header(columns: Sequence[str]) -> bytes:
    """Return the header line: the source's original columns + row_number + errors."""
    return _csv_lines([[*map(neutralise, columns), ROW_NUMBER_COLUMN, ERRORS_COLUMN]])


def invalid_rows_csv(rows: Iterable[InvalidRow], n_columns: int) -> bytes:
    """Return the CSV lines (no header) for ``rows``, to sit under ``invalid_header``.

    Every line has ``n_columns`` source cells: short rows are padded with "", and for a
    row longer than the header the extra cells are kept, JSON-quoted, in one more error
    message ("row: cells beyond the last column: [...]"), so no value is lost.
    ``row_number`` is the source line where the row starts (the header is line 1).
    """
    lines = []
    for row in rows:
        cells = list(row.cells[:n_columns])
        cells += [""] * (n_columns - len(cells))
        errors: list[str] = list(row.errors)
        beyond = row.cells[n_columns:]
        if beyond:
            shown = json.dumps(list(beyond), ensure_ascii=False)
            errors.append(f"row: cells beyond the last column: {shown}")
        lines.append([*map(neutralise, cells), str(row.line), neutralise(format_errors(errors))])
    return _csv_lines(lines)


def _csv_lines(rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8", "replace")
