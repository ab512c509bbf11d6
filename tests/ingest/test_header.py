from __future__ import annotations

import pytest

from oms.errors import OMSError
from oms.ingest.header import (
    HEAD_BYTES,
    REQUIRED_COLUMNS,
    HeaderError,
    check_looks_like_csv,
    read_header,
)

from .helpers import HEADER_LINE

ROW = "ORD-1,Jane,jane@example.com,Widget,SKU-1,HUB-1,1,1.00,1.00,2025-01-31,Somewhere"


def _error(head: bytes, **kwargs: bool) -> HeaderError:
    with pytest.raises(HeaderError) as info:
        read_header(head, **kwargs)
    return info.value


def test_plain_header_finds_every_required_column() -> None:
    data = (HEADER_LINE + "\n" + ROW + "\n").encode()

    header = read_header(data)

    assert header.columns == REQUIRED_COLUMNS
    assert header.normalized == REQUIRED_COLUMNS
    assert header.missing == ()
    assert header.extra == ()
    assert header.duplicates == ()
    assert header.index == {name: pos for pos, name in enumerate(REQUIRED_COLUMNS)}
    assert header.data_offset == len(HEADER_LINE) + 1
    assert header.data_line == 2
    assert data[header.data_offset :].startswith(b"ORD-1,")
    assert header.missing_message() == ""


@pytest.mark.parametrize(
    ("prefix", "terminator"),
    [
        (b"", b"\n"),
        (b"", b"\r\n"),
        (b"", b"\r"),
        (b"\xef\xbb\xbf", b"\n"),
        (b"\xef\xbb\xbf", b"\r\n"),
    ],
    ids=["lf", "crlf", "cr", "bom-lf", "bom-crlf"],
)
def test_data_offset_counts_bom_and_terminator(prefix: bytes, terminator: bytes) -> None:
    data = prefix + HEADER_LINE.encode() + terminator + ROW.encode()

    header = read_header(data)

    assert header.data_offset == len(prefix) + len(HEADER_LINE) + len(terminator)
    assert data[header.data_offset :] == ROW.encode()
    assert header.columns[0] == "order_id"  # BOM stripped
    assert header.missing == ()


def test_names_are_matched_trimmed_and_case_insensitively_in_any_order() -> None:
    written = [f"  {name.upper()} " for name in reversed(REQUIRED_COLUMNS)]
    data = (",".join(written) + "\n").encode()

    header = read_header(data)

    assert header.columns == tuple(written)
    assert header.normalized == tuple(reversed(REQUIRED_COLUMNS))
    assert header.missing == ()
    assert header.index["order_id"] == len(REQUIRED_COLUMNS) - 1
    assert header.index["shipping_address"] == 0


def test_quoted_header_cells() -> None:
    cells = [f'"{name}"' for name in REQUIRED_COLUMNS] + ['"notes, internal"']
    data = (",".join(cells) + "\r\n").encode()

    header = read_header(data)

    assert header.missing == ()
    assert header.columns[-1] == "notes, internal"
    assert header.extra == ("notes, internal",)
    assert header.data_offset == len(data)


def test_quoted_header_cell_with_line_break_moves_data_line() -> None:
    data = (HEADER_LINE + ',"two\nlines"\n' + ROW + "\n").encode()

    header = read_header(data)

    assert header.columns[-1] == "two\nlines"
    assert header.data_line == 3
    assert data[header.data_offset :].startswith(b"ORD-1")


def test_missing_columns_are_listed_in_contract_order_and_named_in_the_message() -> None:
    present = [c for c in REQUIRED_COLUMNS if c not in ("customer_email", "total_amount")]
    data = (",".join(["tenant_id", *present, "seller_id"]) + "\n").encode()

    header = read_header(data)

    assert header.missing == ("customer_email", "total_amount")
    assert header.extra == ("tenant_id", "seller_id")
    assert "customer_email" not in header.index
    message = header.missing_message()
    assert message.startswith("missing required columns: customer_email, total_amount (found: ")
    assert "tenant_id, order_id, customer_name" in message
    assert message.endswith("seller_id)")


def test_missing_message_abbreviates_a_very_wide_header() -> None:
    data = (",".join(f"col{i}" for i in range(100)) + "\n").encode()

    message = read_header(data).missing_message()

    assert "col29" in message
    assert "col30" not in message
    assert message.endswith("... and 70 more)")


def test_missing_message_hints_at_semicolon_separator() -> None:
    data = (";".join(REQUIRED_COLUMNS) + "\n").encode()

    header = read_header(data)

    assert header.missing == REQUIRED_COLUMNS
    assert "separate columns with semicolons" in header.missing_message()


def test_extra_columns_keep_their_original_spelling() -> None:
    data = (HEADER_LINE + ", Gift Note ,Channel\n").encode()

    header = read_header(data)

    assert header.extra == (" Gift Note ", "Channel")
    assert header.normalized[-2:] == ("gift note", "channel")


def test_header_only_file_without_terminator() -> None:
    data = HEADER_LINE.encode()

    header = read_header(data)

    assert header.missing == ()
    assert header.data_offset == len(data)


def test_header_only_file_with_terminator() -> None:
    data = (HEADER_LINE + "\r\n").encode()

    assert read_header(data).data_offset == len(data)


@pytest.mark.parametrize(
    "data", [b"", b"\xef\xbb\xbf", b"   ", b"\n\n\r\n", b"\xef\xbb\xbf \t\r\n"]
)
def test_empty_file(data: bytes) -> None:
    assert _error(data).code == "empty_file"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"order_id,sku\n1,\x00\x01\x02\n", "NUL"),
        (b"PK\x03\x04\x14\x00\x06\x00", "xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".xls"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"%PDF-1.7\n", "PDF"),
        ("order_id,sku\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_binary_content_is_not_csv(data: bytes, needle: str) -> None:
    error = _error(data)

    assert error.code == "not_csv"
    assert needle in error.message
    with pytest.raises(HeaderError):
        check_looks_like_csv(data)


def test_text_passes_the_csv_sniff() -> None:
    check_looks_like_csv((HEADER_LINE + "\n" + ROW).encode())


def test_header_not_utf8() -> None:
    data = "order_id,café\n".encode("latin-1")

    error = _error(data)

    assert error.code == "not_utf8"
    assert "UTF-8" in error.message


def test_bad_utf8_after_the_header_is_not_a_header_problem() -> None:
    data = (HEADER_LINE + "\n").encode() + "café".encode("latin-1")

    assert read_header(data).missing == ()


@pytest.mark.parametrize(
    "data", [b"\norder_id,sku\n", b"\r\norder_id\n", b",,,\n1,2,3,4\n", b"   \nx\n"]
)
def test_no_header_when_the_first_line_has_no_names(data: bytes) -> None:
    assert _error(data).code == "no_header"


def test_header_longer_than_the_head() -> None:
    head = b"a" * HEAD_BYTES

    error = _error(head)

    assert error.code == "header_too_long"
    assert str(HEAD_BYTES) in error.message


def test_long_header_is_fine_when_head_is_the_whole_file() -> None:
    head = b"a" * HEAD_BYTES

    header = read_header(head, whole_file=True)

    assert header.columns == ("a" * HEAD_BYTES,)
    assert header.data_offset == HEAD_BYTES


def test_header_terminator_cut_by_the_end_of_the_head_is_too_long() -> None:
    # "\r" as the last byte given: the "\n" of "\r\n" may be the next byte of the file.
    head = (HEADER_LINE + "\r").encode()

    assert _error(head, whole_file=False).code == "header_too_long"
    assert read_header(head, whole_file=True).data_offset == len(head)


def test_unclosed_quote_in_a_partial_head_is_too_long() -> None:
    head = b'order_id,"sku\n' + b"x" * 100

    assert _error(head, whole_file=False).code == "header_too_long"


def test_duplicate_required_column_is_rejected() -> None:
    data = (HEADER_LINE + ", SKU \n").encode()

    error = _error(data)

    assert error.code == "duplicate_columns"
    assert "sku" in error.message
    assert f"columns 5, {len(REQUIRED_COLUMNS) + 1}" in error.message


def test_duplicate_extra_columns_are_reported_not_rejected() -> None:
    data = (HEADER_LINE + ",note,Note,,\n").encode()

    header = read_header(data)

    assert header.duplicates == ("note",)
    assert header.extra == ("note", "Note", "", "")
    assert header.missing == ()


def test_header_error_carries_code_and_message() -> None:
    error = _error(b"")

    assert isinstance(error, OMSError)
    assert str(error) == error.message == "the file is empty"
    assert "empty_file" in repr(error)


def test_missing_message_suggests_the_columns_other_exports_use():
    from oms.ingest.header import read_header

    header = read_header(b"Tenant_id,order_id,customer_name,hub_id,sku_id,quantity,price\n")

    assert header.renaming_hints() == {"sku": "sku_id", "unit_price": "price"}
    assert "did you mean 'sku_id' for sku, 'price' for unit_price" in header.missing_message()


def test_no_hint_when_nothing_resembles_a_missing_column():
    from oms.ingest.header import read_header

    header = read_header(b"tenant_id,seller_id,quantity\n")

    assert header.renaming_hints() == {}
    assert "did you mean" not in header.missing_message()
