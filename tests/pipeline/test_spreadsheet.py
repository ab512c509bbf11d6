"""An .xlsx upload: its first sheet becomes the CSV the pipeline reads, numbers and dates
as an operator sees them in Excel."""

from __future__ import annotations

import io
import tracemalloc
from datetime import date, datetime, time
from pathlib import Path

import pytest
from openpyxl import Workbook

from oms.uploads import spreadsheet
from oms.uploads.spreadsheet import cell_text
from tests.namespaces import Written, assert_nothing_written
from tests.pipeline.helpers import wait_for_upload
from tests.pipeline.rows import COLUMNS, to_xlsx, valid_row


def workbook(rows: list[dict], path: Path) -> bytes:
    """A workbook whose first sheet has the rows with Excel's own types: quantities and
    prices as numbers (a whole number stored as a float too), dates as dates."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Orders"
    sheet.append(COLUMNS)
    for n, row in enumerate(rows):
        cells: list[object] = [row[name] for name in COLUMNS]
        cells[COLUMNS.index("quantity")] = (
            float(row["quantity"]) if n == 0 else int(row["quantity"])
        )
        cells[COLUMNS.index("unit_price")] = float(row["unit_price"])
        cells[COLUMNS.index("total_amount")] = float(row["total_amount"])
        cells[COLUMNS.index("order_date")] = datetime(2025, 3, 1 + n)
        sheet.append(cells)
        if n == 1:
            sheet.append([None] * len(COLUMNS))  # an empty, formatted row: left out
    book.create_sheet("Notes").append(["not", "orders"])  # only the first sheet is read
    book.save(path)
    return path.read_bytes()


def post(api, data: bytes, name: str):
    return api.post(
        "/upload",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


@pytest.mark.integration
def test_an_xlsx_upload_goes_through_the_pipeline_with_excels_numbers_and_dates(
    api, pipeline, tmp_path
):
    rows = [valid_row(n, prefix="XLSX") for n in range(4)]
    data = workbook(rows, tmp_path / "orders.xlsx")

    response = post(api, data, "orders.xlsx")

    assert response.status_code == 202, response.get_json()
    upload = wait_for_upload(api, response.get_json()["upload_id"])
    assert upload["status"] == "completed", upload
    assert upload["filename"] == "orders.xlsx"
    assert upload["counts"] == {"rows": 4, "valid": 4, "invalid": 0, "duplicate": 0}
    import hashlib

    assert upload["sha256"] == hashlib.sha256(data).hexdigest()  # the workbook's own
    first = api.get(f"/orders/{rows[0]['order_id']}").get_json()
    assert first["item"]["quantity"] == int(rows[0]["quantity"])  # stored as 1.0 in Excel
    assert first["order_date"].startswith("2025-03-01")
    fourth = api.get(f"/orders/{rows[3]['order_id']}").get_json()
    assert fourth["order_date"].startswith("2025-03-04")
    assert fourth["item"]["unit_price"] == rows[3]["unit_price"]


@pytest.mark.integration
def test_a_file_named_xlsx_that_is_no_workbook_is_refused(api, pipeline, settings):
    before = Written.now(settings)

    response = post(api, b"order_id,sku\n1,2\n", "orders.xlsx")

    assert response.status_code == 415
    body = response.get_json()
    assert body["code"] == "not_xlsx" and "Excel workbook" in body["message"]
    assert_nothing_written(settings, before)


def test_cells_are_written_as_excel_shows_them():
    assert cell_text(3.0) == "3"
    assert cell_text(10.25) == "10.25"
    assert cell_text(7) == "7"
    assert cell_text(None) == ""
    assert cell_text(True) == "true"
    assert cell_text(datetime(2025, 3, 1)) == "2025-03-01"
    assert cell_text(datetime(2025, 3, 1, 14, 30)) == "2025-03-01 14:30:00"
    assert cell_text(date(2025, 3, 1)) == "2025-03-01"
    assert cell_text(time(9, 5)) == "09:05:00"
    assert cell_text(" text ") == " text "


def test_reading_a_sheet_holds_one_row_at_a_time(tmp_path):
    """openpyxl 3.1.5 keeps every row it read (about 80 bytes each) unless
    spreadsheet._iterparse_dropping_rows removes it: memory would grow with the sheet."""
    path = to_xlsx(8000, tmp_path / "many.xlsx")  # 8 blocks of 1,000 records
    tracemalloc.start()
    try:
        held = [tracemalloc.get_traced_memory()[0] for _ in spreadsheet.csv_blocks(path)]
    finally:
        tracemalloc.stop()

    assert len(held) == 9  # the header and 8,000 rows, 1,000 records a block
    # While the sheet is read (from the second block, openpyxl's start-up done, to the
    # last block before the end of the sheet frees everything): ~0 with the workaround,
    # about 60-90 bytes a row without it (370 KB here).
    growth = max(held[1:-1]) - held[1]
    assert growth < 150_000, f"grew by {growth} bytes"


@pytest.mark.integration
def test_the_api_answers_other_requests_while_it_converts_a_workbook(fresh_settings, tmp_path):
    """One API process (gevent): converting a large workbook yields between batches, so
    a health check is answered while the upload is still being converted."""
    import threading

    import requests

    from oms.config import environ
    from tests.servers import gunicorn

    path = to_xlsx(12_000, tmp_path / "slow.xlsx")
    with gunicorn(
        "oms.api.wsgi:app", tmp_path / "api.log", workers=1, env=environ(fresh_settings)
    ) as (url, _):
        requests.get(f"{url}/healthz", timeout=30).raise_for_status()  # warm
        answered_during: list[int] = []
        upload: dict = {}

        def send() -> None:
            with path.open("rb") as handle:
                upload["response"] = requests.post(
                    f"{url}/upload", files={"file": ("slow.xlsx", handle)}, timeout=600
                )

        sender = threading.Thread(target=send)
        sender.start()
        while sender.is_alive():
            status = requests.get(f"{url}/healthz", timeout=600).status_code
            if sender.is_alive():  # answered before the upload's answer
                answered_during.append(status)
        sender.join()

    assert upload["response"].status_code == 202, upload["response"].text
    assert upload["response"].json()["filename"] == "slow.xlsx"
    assert len(answered_during) >= 100 and set(answered_during) == {200}, len(answered_during)
