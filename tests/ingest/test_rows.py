from __future__ import annotations

import csv
from collections.abc import Iterator

import pytest

from oms.ingest.chunking import split_into_chunks
from oms.ingest.header import REQUIRED_COLUMNS, read_header
from oms.ingest.rows import UNCLOSED_QUOTE, Limits, RawRecord, read_records

from .helpers import GOOD_VALUES, HEADER_LINE, header

GOOD_ROW = ",".join(f'"{v}"' if "," in v else v for v in GOOD_VALUES.values())
N = len(REQUIRED_COLUMNS)


def _records(text: str | bytes, first_line: int = 2) -> list[RawRecord]:
    data = text.encode() if isinstance(text, str) else text
    return list(read_records(data, header(), first_line))


def test_values_map_required_columns_to_raw_cells() -> None:
    (record,) = _records(GOOD_ROW + "\n")

    assert record.line == 2
    assert record.values == GOOD_VALUES
    assert record.cells == tuple(GOOD_VALUES.values())
    assert record.problems == []


def test_values_follow_the_header_order_and_ignore_extra_columns() -> None:
    names = ["note", *reversed(REQUIRED_COLUMNS)]
    hdr = read_header((",".join(names) + "\n").encode())
    cells = ["a note", *(f"v-{n}" for n in reversed(REQUIRED_COLUMNS))]

    (record,) = read_records((",".join(cells) + "\n").encode(), hdr, 2)

    assert record.values == {n: f"v-{n}" for n in REQUIRED_COLUMNS}
    assert record.cells == tuple(cells)


def test_line_numbers_count_multi_line_cells_and_blank_lines() -> None:
    text = (
        'A,"two\nlines",c,d,e,f,g,h,i,j,k\r\n'
        "\r\n"
        "B,b,c,d,e,f,g,h,i,j,k\n"
        'C,"three\r\nline\rcell",c,d,e,f,g,h,i,j,k\n'
        "\n\n"
        "D,b,c,d,e,f,g,h,i,j,k"
    )

    records = _records(text, first_line=10)

    assert [(r.line, r.cells[0]) for r in records] == [
        (10, "A"),
        (13, "B"),
        (14, "C"),
        (19, "D"),
    ]
    assert records[0].cells[1] == "two\nlines"
    assert records[2].cells[1] == "three\r\nline\rcell"
    assert all(r.problems == [] for r in records)


def test_leading_blank_lines_of_the_first_chunk_are_counted() -> None:
    records = _records("\n\r\nA,b,c,d,e,f,g,h,i,j,k\n")

    assert [r.line for r in records] == [4]


def test_leading_blank_lines_are_counted_when_reading_record_by_record() -> None:
    records = _records(b"\n\r\nA,\xff,c,d,e,f,g,h,i,j,k\n\nB,b,c,d,e,f,g,h,i,j,k\n")

    assert [r.line for r in records] == [4, 6]
    assert records[0].problems and not records[1].problems


def test_short_row_reports_field_count_and_maps_missing_cells_to_empty() -> None:
    (record,) = _records("A,b,c,d,e,f,g,h,i\n")

    assert record.problems == [f"row: has 9 fields, header has {N}"]
    assert record.values["total_amount"] == "i"
    assert record.values["order_date"] == ""
    assert record.values["shipping_address"] == ""
    assert record.values["hub_id"] == "f"
    assert len(record.cells) == 9


def test_long_row_reports_field_count_and_keeps_every_cell() -> None:
    (record,) = _records(GOOD_ROW + ",extra1,extra2\n")

    assert record.problems == [f"row: has {N + 2} fields, header has {N}"]
    assert record.cells[-2:] == ("extra1", "extra2")
    assert record.values == GOOD_VALUES


def test_bad_utf8_is_reported_on_its_record_only() -> None:
    data = (
        b'A,b,c,d,e,f,g,h,i,j,k\nB,Jos\xe9,c,d,e,f,g,h,i,j,"multi\nline"\nC,b,c,d,e,f,g,h,i,j,k\r\n'
    )

    records = _records(data)

    assert [r.line for r in records] == [2, 3, 5]
    assert records[0].problems == [] and records[2].problems == []
    assert records[1].problems == [
        (
            "row: customer_name contains characters that are not valid UTF-8 text; "
            'save the file as "CSV UTF-8" and upload it again'
        )
    ]
    assert records[1].cells[1] == "Jos\ufffd"
    assert records[1].cells[10] == "multi\nline"
    assert records[1].values["order_id"] == "B"


def test_bad_utf8_in_a_short_row_reports_both_problems() -> None:
    (record,) = _records(b"A,\xff\xfe\n")

    assert len(record.problems) == 2
    assert record.problems[0].startswith("row: customer_name contains characters")
    assert record.problems[1] == f"row: has 2 fields, header has {N}"


def test_unclosed_quote_at_end_of_file_is_a_problem_of_the_last_record() -> None:
    text = 'A,b,c,d,e,f,g,h,i,j,k\nB,b,c,d,e,f,g,h,i,j,"never closed\nC,b,c\n'

    records = _records(text)

    assert [r.line for r in records] == [2, 3]
    assert records[0].problems == []
    assert records[1].problems == [UNCLOSED_QUOTE]
    assert records[1].cells[-1] == "never closed\nC,b,c\n"


def test_unclosed_quote_is_reported_in_the_slow_path_too() -> None:
    data = b'A,\xff,c,d,e,f,g,h,i,j,k\nB,b,c,d,e,f,g,h,i,j,"never closed\n'

    records = _records(data)

    assert records[0].problems[0].startswith("row: customer_name contains")
    assert records[1].problems == [UNCLOSED_QUOTE]


@pytest.fixture
def small_field_limit() -> Iterator[None]:
    previous = csv.field_size_limit(40)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


@pytest.mark.usefixtures("small_field_limit")
def test_csv_error_is_reported_on_its_record_and_parsing_goes_on() -> None:
    long_cell = "x" * 60
    text = (
        "A,b,c,d,e,f,g,h,i,j,k\n"
        "B,b,c,d,e,f,g,h,i,j,k\n"
        f'C,"{long_cell}\nstill C",c,d,e,f,g,h,i,j,k\n'
        "D,b,c,d,e,f,g,h,i,j,k\n"
    )

    records = _records(text)

    assert [(r.line, r.cells[0][:1]) for r in records] == [
        (2, "A"),
        (3, "B"),
        (4, "C"),
        (6, "D"),
    ]
    assert [bool(r.problems) for r in records] == [False, False, True, False]
    (problem,) = records[2].problems
    assert problem.startswith("row: cannot be read as CSV (field larger than field limit")
    assert records[2].cells == (f'C,"{long_cell}\nstill C",c,d,e,f,g,h,i,j,k',)


def test_chunk_by_chunk_reading_equals_whole_file_reading() -> None:
    rows = [GOOD_ROW.replace("ORD-1", f"ORD-{i}") + ("\r\n" if i % 2 else "\n") for i in range(20)]
    rows[5] = rows[5].replace("Jane Doe", '"Jane\nDoe"')
    rows[9] = "\n"
    data = (HEADER_LINE + "\n" + "".join(rows)).encode()
    hdr = header()
    whole = list(read_records(data[hdr.data_offset :], hdr, hdr.data_line))

    chunks = split_into_chunks([data[hdr.data_offset :]], hdr.data_offset, 4, hdr.data_line)
    pieces = [r for c in chunks for r in read_records(data[c.start : c.end], hdr, c.first_line)]

    assert pieces == whole
    assert len(whole) == 19
    assert whole[6].line == 9  # after the two-line cell of row 5 (lines 7-8)


def test_empty_chunk_has_no_records() -> None:
    assert _records(b"") == []
    assert _records(b"\n\r\n") == []


def _row(**changes: str) -> str:
    values = {**GOOD_VALUES, **changes}
    return ",".join(f'"{v}"' if any(c in v for c in ',\n"') else v for v in values.values())


def _reasons(record: RawRecord) -> list[tuple[str, str]]:
    return [(problem.field, problem.rule) for problem in record.problems]


def test_a_nul_byte_anywhere_makes_the_row_invalid_and_is_not_kept() -> None:
    padding = "\n".join([GOOD_ROW] * 2000) + "\n"  # well past the first 64 KiB
    records = _records(padding + _row(customer_name="Aa\x00rav") + "\n")

    last = records[-1]
    assert len(padding) > 64 * 1024
    assert _reasons(last) == [("customer_name", "control_characters")]
    assert "NUL" in last.problems[0]
    assert "\x00" not in last.values["customer_name"] and "\x00" not in "".join(last.cells)
    assert all(r.problems == [] for r in records[:-1])


@pytest.mark.parametrize("control", ["\x01", "\x1b", "\x7f"])
def test_other_control_characters_are_reported_too(control: str) -> None:
    (record,) = _records(_row(product_name=f"Lamp{control}") + "\n")

    assert _reasons(record) == [("product_name", "control_characters")]


def test_tabs_and_quoted_line_breaks_are_text() -> None:
    (record,) = _records(_row(shipping_address="1 Road\tflat 2\nBlock C") + "\n")

    assert record.problems == []


def test_a_cell_over_the_field_limit_is_one_reason_and_is_cut() -> None:
    address = "x" * 130_000
    (record,) = list(
        read_records(
            (_row(shipping_address=address) + "\n").encode(),
            header(),
            2,
            Limits(max_field_chars=1000, max_record_chars=10**6),
        )
    )

    assert _reasons(record) == [("shipping_address", "too_long")]
    assert "130000 characters; at most 1000" in record.problems[0]
    assert len(record.values["shipping_address"]) == 1003  # cut, with a mark


def test_a_record_over_the_row_limit_is_invalid() -> None:
    limits = Limits(max_field_chars=1000, max_record_chars=500)
    (record,) = list(
        read_records((_row(product_name="y" * 600) + "\n").encode(), header(), 2, limits)
    )

    assert ("row", "too_long") in _reasons(record)
