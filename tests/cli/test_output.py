"""Human output helpers (no server)."""

from oms.cli.output import Column, fields, page_footer, seconds, size, table, when
from oms.cli.uploads import tally


def test_table_aligns_columns_and_right_aligns_numbers():
    items = [{"id": "a", "n": 5}, {"id": "long-id", "n": 12345}]
    out = table(items, [Column("ID", lambda i: i["id"]), Column("N", lambda i: i["n"], right=True)])
    assert out.splitlines() == ["ID            N", "a             5", "long-id  12,345"]


def test_table_clips_long_cells():
    out = table([{"f": "x" * 40}], [Column("FILE", lambda i: i["f"], max_width=10)])
    assert out.splitlines()[1] == "xxxxxxx..."


def test_fields_align_values_and_skip_missing_ones():
    assert fields([("rows", 1200), ("error", None), ("invalid file", "a.csv")]) == (
        "rows          1,200\ninvalid file  a.csv"
    )


def test_page_footer_says_where_the_next_page_is():
    page = {"items": [{}] * 20, "page_size": 20, "next": "abc"}
    assert page_footer(page, "orders") == "20 orders on this page; next page: --cursor abc"
    assert (
        page_footer({"items": [{}] * 3, "page_size": 20, "next": None}, "orders")
        == "3 orders; end of the list"
    )
    assert (
        page_footer({"items": [], "page_size": 20, "next": None}, "uploads")
        == "no uploads; end of the list"
    )


def test_units():
    assert size(512) == "512 B"
    assert size(3 * 1024 * 1024) == "3.0 MiB"
    assert seconds(4.25) == "4.2 s"
    assert seconds(125) == "2 min 5 s"
    assert when("2025-03-01T10:00:00.123+05:30") == "2025-03-01 04:30:00"


def test_tally_lists_the_largest_counts_first():
    assert tally({"sku": 1, "quantity": 3, "hub_id": 1}) == "quantity 3, hub_id 1, sku 1"
    assert tally({}) is None and tally(None) is None
