from __future__ import annotations

import csv
import io
import json

import pytest

from oms.ingest.invalid_file import invalid_header, invalid_rows_csv, neutralise
from oms.ingest.schema import InvalidRow


def _read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    ],
)
def test_formula_cells_are_neutralised(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected


@pytest.mark.parametrize("cell", ["", "abc", "5", "a=b", " =1", "'=1", "1-2", "Zoë"])
def test_safe_cells_are_unchanged(cell: str) -> None:
    assert neutralise(cell) == cell


def test_header_line() -> None:
    data = invalid_header(["order_id", "=evil", "notes, free text"])

    assert data == b'order_id,\'=evil,"notes, free text",row_number,errors\n'


def test_rows_round_trip_through_csv_reader() -> None:
    cells = ("ORD-1", 'say "hi"', "a,b", "two\nlines", "crlf\r\nend", "Zoë", "")
    rows = [InvalidRow(5, cells, ["quantity: bad", 'customer_email: not valid (got "x,y")'])]

    data = invalid_rows_csv(rows, len(cells))

    assert _read(data) == [[*cells, "5", 'quantity: bad; customer_email: not valid (got "x,y")']]
    assert data.endswith(b"\n") and not data.endswith(b"\r\n")


def test_cells_and_errors_are_neutralised() -> None:
    rows = [InvalidRow(3, ("=cmd|' /C calc'!A0", "-2", "@x"), ["-leading error"])]

    (line,) = _read(invalid_rows_csv(rows, 3))

    assert line == ["'=cmd|' /C calc'!A0", "'-2", "'@x", "3", "'-leading error"]


def test_short_rows_are_padded() -> None:
    rows = [InvalidRow(2, ("a", "b"), ["row: has 2 fields, header has 4"])]

    (line,) = _read(invalid_rows_csv(rows, 4))

    assert line == ["a", "b", "", "", "2", "row: has 2 fields, header has 4"]


def test_long_rows_keep_their_extra_cells_in_the_errors() -> None:
    rows = [InvalidRow(8, ("a", "b", "c", 'x, "y"', "z"), ["row: has 5 fields, header has 3"])]

    (line,) = _read(invalid_rows_csv(rows, 3))

    assert line[:4] == ["a", "b", "c", "8"]
    first, extra = line[4].split("; ", 1)
    assert first == "row: has 5 fields, header has 3"
    prefix = "row: cells beyond the last column: "
    assert extra.startswith(prefix)
    assert json.loads(extra[len(prefix) :]) == ['x, "y"', "z"]


def test_header_and_parts_concatenate_into_one_csv() -> None:
    columns = ["order_id", "sku"]
    part0 = invalid_rows_csv([InvalidRow(2, ("A", "S"), ["sku: unknown"])], 2)
    part1 = invalid_rows_csv(
        [InvalidRow(9, ("B", "T\nU"), ["x: y"]), InvalidRow(11, ("C",), ["z: w"])], 2
    )

    table = _read(invalid_header(columns) + part0 + part1)

    assert table == [
        ["order_id", "sku", "row_number", "errors"],
        ["A", "S", "2", "sku: unknown"],
        ["B", "T\nU", "9", "x: y"],
        ["C", "", "11", "z: w"],
    ]


def test_no_rows_no_bytes() -> None:
    assert invalid_rows_csv([], 3) == b""
