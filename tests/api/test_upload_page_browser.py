"""The upload page in a real browser (Debian's Chromium driven by Playwright), against the
API served by gunicorn with a real worker, IMS and the local stack behind it."""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import uuid
from pathlib import Path

import pytest
import requests

from devstack.browser import CHROMIUM_ARGS, ensure_chromium
from oms.config import environ
from oms.ingest.header import REQUIRED_COLUMNS
from tests import namespaces
from tests.namespaces import Written, assert_nothing_written
from tests.servers import gunicorn

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_orders.csv"
SCREENSHOT = ROOT / "docs" / "upload-page.png"
PROCESSING_TIMEOUT_MS = 120_000
API_KEY = "testkey"


@pytest.fixture(scope="module")
def settings(base_settings):
    """The module's namespace, with one chunk of an upload in the queue at a time and
    chunks of 500 rows, so the 20,000-row upload stopped below still has chunks left
    to cancel however busy the machine is (the module's worker and API get them too)."""
    one_at_a_time = dataclasses.replace(base_settings, chunks_in_flight=1, chunk_rows=500)
    with namespaces.namespace(one_at_a_time) as module_settings:
        yield module_settings


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=ensure_chromium(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


def sample_copy(directory: Path) -> Path:
    """sample_orders.csv with order_ids of its own: every order_id is unique across
    uploads, so the original's orders are left for tests/pipeline/test_sample_orders.py.
    Only the "ORD" prefix changes, so each row stays valid or invalid as it was."""
    tag = "UI" + uuid.uuid4().hex[:4].upper()
    with SAMPLE.open(newline="") as handle:
        rows = list(csv.reader(handle))
    for row in rows[1:]:
        if row and row[0].startswith("ORD"):
            row[0] = tag + row[0][3:]
    path = directory / SAMPLE.name
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


def shown_number(page, selector: str) -> int:
    return int(re.sub(r"\D", "", page.locator(selector).inner_text()))


def wait_for_terminal(page) -> str:
    """Wait until the page's current upload is completed; return its id."""
    from playwright.sync_api import expect

    current = page.locator("#current")
    expect(current).to_have_attribute(
        "data-status", re.compile("completed|failed|rejected"), timeout=PROCESSING_TIMEOUT_MS
    )
    upload_id = current.get_attribute("data-upload-id")
    status = current.get_attribute("data-status")
    if status != "completed":
        pytest.fail(
            f"upload {upload_id} ended {status}: {page.locator('#current-error').inner_text()}"
        )
    return upload_id


def test_upload_shows_progress_counts_and_invalid_rows(api_server, page, tmp_path):
    from playwright.sync_api import expect

    response = page.goto(f"{api_server}/")
    assert response.status == 200, "GET / must serve the page (blueprint oms.api.page.bp)"
    expect(page.get_by_role("heading", name="Upload orders")).to_be_visible()
    expect(page.get_by_text("Drop a CSV here or choose a file")).to_be_visible()

    page.set_input_files("#file-input", sample_copy(tmp_path))
    upload_id = wait_for_terminal(page)

    upload = requests.get(f"{api_server}/uploads/{upload_id}", timeout=10).json()
    assert upload["status"] == "completed"
    shown = {
        name: shown_number(page, f"#count-{name}")
        for name in ("rows", "valid", "invalid", "duplicate")
    }
    assert shown == {name: upload["counts"][name] for name in shown}
    assert upload["counts"]["invalid"] > 0  # sample_orders.csv has invalid rows on purpose
    expect(page.locator("#current-badge")).to_have_text("Completed")
    expect(page.locator("#processing-value")).to_have_text(
        f"{upload['chunks']['total']} / {upload['chunks']['total']} chunks"
    )

    row = page.locator(f'#recent-body tr[data-upload-id="{upload_id}"]')
    expect(row).to_have_attribute("data-status", "completed", timeout=10_000)
    expect(row.locator(".badge")).to_have_text("Completed")

    with page.expect_download() as download_info:
        page.locator("#current-download").click()
    download = download_info.value
    saved = tmp_path / "invalid.csv"
    download.save_as(saved)
    with saved.open(newline="") as handle:
        records = list(csv.reader(handle))
    assert records[0][-2:] == ["row_number", "errors"]
    assert len(records) - 1 == upload["counts"]["invalid"]
    assert download.suggested_filename == f"invalid-{upload['invalid_file']}"

    # docs/upload-page.png is refreshed on request only, so test runs leave the tree clean.
    target = SCREENSHOT if os.environ.get("OMS_UPDATE_SCREENSHOT") else tmp_path / "page.png"
    target.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000


def test_what_is_wrong_shows_the_counts_as_bars_and_pages_through_the_rows(
    api_server, page, tmp_path
):
    from playwright.sync_api import expect

    from tests.pipeline.rows import to_csv, valid_row

    rows = [valid_row(n, prefix="WRONG" + uuid.uuid4().hex[:4]) for n in range(30)]
    for n in range(0, 30, 2):  # 15 invalid rows: 15 unknown SKUs, 5 of them empty names too
        rows[n]["sku"] = f"NO-SUCH-SKU-{n}"
        if n % 3 == 0:
            rows[n]["customer_name"] = ""
    path = tmp_path / "what-is-wrong.csv"
    path.write_bytes(to_csv(rows))

    page.goto(f"{api_server}/")
    page.set_input_files("#file-input", path)
    upload_id = wait_for_terminal(page)
    upload = requests.get(f"{api_server}/uploads/{upload_id}", timeout=10).json()
    assert upload["invalid_by"]["field"] == {"sku": 15, "customer_name": 5}

    expect(page.locator("#wrong")).to_be_visible()
    bars = page.locator("#chart-field .bars__item")
    expect(bars).to_have_count(2)
    expect(bars.locator(".bars__label")).to_have_text(["sku", "customer_name"])
    expect(bars.locator(".bars__value")).to_have_text(["15", "5"])
    expect(page.locator("#chart-rule .bars__label")).to_have_text(["unknown_sku", "empty"])

    lines = page.locator("#invalid-body tr td:first-child")
    expect(lines).to_have_text([str(n + 2) for n in range(0, 20, 2)])  # the first 10
    expect(page.locator("#invalid-body tr").first).to_contain_text("unknown SKU")
    target = (
        ROOT / "docs" / "invalid-summary.png"
        if os.environ.get("OMS_UPDATE_SCREENSHOT")
        else tmp_path / "wrong.png"
    )
    page.locator("#current").screenshot(path=str(target))
    assert target.stat().st_size > 10_000

    page.locator("#invalid-next").click()
    expect(lines).to_have_text([str(n + 2) for n in range(20, 30, 2)])  # the other 5
    expect(page.locator("#invalid-next")).to_be_hidden()
    page.locator("#invalid-first").click()
    expect(lines.first).to_have_text("2")


def test_the_same_file_again_is_refused_and_can_be_shown_or_sent_anyway(
    api_server, settings, page, tmp_path
):
    from playwright.sync_api import expect

    from tests.pipeline.rows import to_csv, valid_row

    path = tmp_path / "twice.csv"
    path.write_bytes(
        to_csv([valid_row(n, prefix="PAGE2X" + uuid.uuid4().hex[:4]) for n in range(3)])
    )
    page.goto(f"{api_server}/")
    page.set_input_files("#file-input", path)
    first = wait_for_terminal(page)
    before = Written.now(settings)

    page.set_input_files("#file-input", path)

    alert = page.locator("#upload-error")
    expect(alert).to_be_visible()
    expect(page.locator("#upload-error-title")).to_have_text("This file was uploaded before")
    expect(alert).to_contain_text(first)
    assert_nothing_written(settings, before)

    page.locator("#repeat-show").click()
    expect(page.locator("#current")).to_have_attribute("data-upload-id", first)
    expect(page.locator("#current-badge")).to_have_text("Completed")

    page.set_input_files("#file-input", path)
    expect(page.locator("#repeat-force")).to_be_visible()
    page.locator("#repeat-force").click()
    second = wait_for_terminal(page)
    assert second != first
    upload = requests.get(f"{api_server}/uploads/{second}", timeout=10).json()
    assert upload["counts"]["duplicate"] == 3  # it meant it: its rows are duplicates now


def test_refused_file_names_its_missing_columns(api_server, settings, page, tmp_path):
    from playwright.sync_api import expect

    header = ["tenant_id", "seller_id", "hub_id", "sku_id", "quantity"]
    refused = tmp_path / "wrong_columns.csv"
    refused.write_text(",".join(header) + "\n1,2,3,4,5\n")
    before = Written.now(settings)

    page.goto(f"{api_server}/")
    page.set_input_files("#file-input", refused)

    alert = page.locator("#upload-error")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Required columns are missing")
    expect(alert).to_contain_text("wrong_columns.csv")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    expect(page.locator("#missing-columns li")).to_have_text(missing)
    expect(page.locator("#current")).to_be_hidden()
    assert_nothing_written(settings, before)


def test_columns_under_other_names_are_offered_as_a_mapping_to_confirm(api_server, page, tmp_path):
    from playwright.sync_api import expect

    from tests.pipeline.rows import their_file

    path = tmp_path / "their-columns.csv"
    path.write_bytes(their_file("PAGEMAP" + uuid.uuid4().hex[:4].upper()))

    page.goto(f"{api_server}/")
    page.set_input_files("#file-input", path)

    expect(page.locator("#upload-error-title")).to_have_text("Required columns are missing")
    pairs = page.locator("#mapping-pairs li")
    expect(pairs).to_have_count(4)
    assert set(pairs.all_inner_texts()) == {
        "id → order_id",
        "sku_id → sku",
        "price → unit_price",
        "created_at → order_date",
    }
    page.locator("#mapping-use").click()
    upload_id = wait_for_terminal(page)
    upload = requests.get(f"{api_server}/uploads/{upload_id}", timeout=10).json()
    assert upload["counts"]["valid"] == 4
    assert upload["mapping"] == {
        "id": "order_id",
        "sku_id": "sku",
        "price": "unit_price",
        "created_at": "order_date",
    }


def test_check_only_stores_nothing_until_committed(api_server, page, tmp_path):
    from playwright.sync_api import expect

    from tests.pipeline.rows import to_csv, valid_row

    rows = [valid_row(n, prefix="PAGECHK" + uuid.uuid4().hex[:4]) for n in range(5)]
    rows[2]["sku"] = "NO-SUCH-SKU"
    path = tmp_path / "check-me.csv"
    path.write_bytes(to_csv(rows))

    page.goto(f"{api_server}/")
    page.locator("#check-only").check()
    page.set_input_files("#file-input", path)
    check_id = wait_for_terminal(page)

    expect(page.locator("#current-badge")).to_have_text("Checked")
    check = requests.get(f"{api_server}/uploads/{check_id}", timeout=10).json()
    assert check["check_only"] is True and check["counts"]["valid"] == 4
    order = requests.get(f"{api_server}/orders/{rows[0]['order_id']}", timeout=10)
    assert order.status_code == 404  # nothing stored by the check

    page.once("dialog", lambda dialog: dialog.accept())  # "Store these orders ...?"
    page.locator("#current-commit").click()
    current = page.locator("#current")
    expect(current).not_to_have_attribute("data-upload-id", check_id)
    real_id = wait_for_terminal(page)
    real = requests.get(f"{api_server}/uploads/{real_id}", timeout=10).json()
    assert real["committed_from"] == check_id and real["counts"]["valid"] == 4
    expect(page.locator("#current-commit")).to_be_hidden()
    order = requests.get(f"{api_server}/orders/{rows[0]['order_id']}", timeout=10)
    assert order.status_code == 200


def test_older_uploads_follow_the_listing_cursor(api_server, page):
    from playwright.sync_api import expect

    from oms.uploads import repository as repo
    from oms.uploads.status import UploadStatus

    made = []
    for n in range(25):  # more than one page of the table (20)
        upload_id = f"{n:02d}" + "e" * 30
        repo.create_upload(
            upload_id, filename=f"older-{n}.csv", key="k", size=1, sha256="0", chunk_rows=10
        )
        repo.transition(upload_id, UploadStatus.REJECTED, error="made by a test")
        made.append(upload_id)

    page.goto(f"{api_server}/")
    rows = page.locator("#recent-body tr[data-upload-id]")
    expect(rows.first).to_have_attribute("data-upload-id", made[-1])
    expect(page.locator("#recent-newest")).to_be_hidden()
    first_page = rows.evaluate_all("rows => rows.map(r => r.dataset.uploadId)")

    page.locator("#recent-older").click()
    expect(page.locator("#recent-newest")).to_be_visible()
    expect(rows.first).not_to_have_attribute("data-upload-id", made[-1])
    second_page = rows.evaluate_all("rows => rows.map(r => r.dataset.uploadId)")
    assert len(first_page) == 20 and not set(first_page) & set(second_page)
    assert made[4] in second_page  # the 21st newest of these

    page.locator("#recent-newest").click()
    expect(rows.first).to_have_attribute("data-upload-id", made[-1])


@pytest.fixture
def keyed_api_server(pipeline, settings, tmp_path):
    """A second API (gunicorn) in this module's namespace, with OMS_API_KEYS set."""
    with gunicorn(
        "oms.api.wsgi:app",
        tmp_path / "api-with-keys.log",
        workers=1,
        env={**environ(settings), "OMS_API_KEYS": API_KEY},
    ) as (url, _):
        yield url


def test_page_asks_for_the_api_key_once_and_sends_it(keyed_api_server, page, tmp_path):
    from playwright.sync_api import expect

    assert requests.get(f"{keyed_api_server}/uploads", timeout=10).status_code == 401
    page.goto(f"{keyed_api_server}/")  # the page itself is open

    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("API key needed")
    page.get_by_role("textbox", name="API key").fill("not-the-key")
    page.get_by_role("button", name="Save key").click()
    expect(dialog).to_contain_text("API key refused")
    page.get_by_role("textbox", name="API key").fill(API_KEY)
    page.get_by_role("button", name="Save key").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#recent-error")).to_be_hidden()
    assert page.evaluate("localStorage.getItem('oms.apiKey')") == API_KEY

    page.reload()  # the stored key is used: no second question
    page.set_input_files("#file-input", sample_copy(tmp_path))
    upload_id = wait_for_terminal(page)
    expect(dialog).to_be_hidden()

    upload = requests.get(
        f"{keyed_api_server}/uploads/{upload_id}", headers={"X-API-Key": API_KEY}, timeout=10
    ).json()
    assert shown_number(page, "#count-valid") == upload["counts"]["valid"]
    assert shown_number(page, "#count-invalid") == upload["counts"]["invalid"]

    # The download goes through fetch() with the key (a plain link would get 401).
    with page.expect_download() as download_info:
        page.locator(f'#recent-body tr[data-upload-id="{upload_id}"] a[data-download]').click()
    saved = tmp_path / "invalid.csv"
    download_info.value.save_as(saved)
    with saved.open(newline="") as handle:
        assert len(list(csv.reader(handle))) - 1 == upload["counts"]["invalid"]


def test_the_orders_of_an_upload_show_as_the_finalizer_decides_them(
    api_server, settings, page, tmp_path
):
    from playwright.sync_api import expect

    from tests.orders.support import finalizers

    page.goto(f"{api_server}/")
    page.set_input_files("#file-input", sample_copy(tmp_path))
    upload_id = wait_for_terminal(page)
    valid = shown_number(page, "#count-valid")
    expect(page.locator("#order-on_hold")).to_have_text(str(valid))  # nothing decided yet

    with finalizers(settings):
        expect(page.locator("#order-on_hold")).to_have_text("0", timeout=60_000)

    upload = requests.get(f"{api_server}/uploads/{upload_id}", timeout=10).json()
    shown = {
        name: shown_number(page, f"#order-{name}")
        for name in ("confirmed", "backordered", "on_hold", "cancelled")
    }
    assert shown == {name: upload["order_status"][name] for name in shown}
    assert shown["confirmed"] + shown["backordered"] == valid
    summary = page.locator(f'#recent-body tr[data-upload-id="{upload_id}"] td.small')
    expect(summary).to_contain_text(f"{shown['confirmed']} confirmed", timeout=10_000)


def test_a_running_upload_can_be_stopped_after_a_confirmation(api_server, page, tmp_path):
    from playwright.sync_api import expect

    from tests.pipeline.rows import to_csv, valid_row

    prefix = "PAGESTOP" + uuid.uuid4().hex[:4]
    path = tmp_path / "stop-me.csv"
    path.write_bytes(to_csv([valid_row(n, prefix=prefix) for n in range(20_000)]))

    page.goto(f"{api_server}/")
    page.set_input_files("#file-input", path)
    stop = page.locator("#current-stop")
    current = page.locator("#current")
    # split, its 40 chunks sent one at a time: stopping now leaves most of them unsent
    expect(current).to_have_attribute("data-status", "processing", timeout=30_000)
    expect(stop).to_be_visible()
    page.once("dialog", lambda dialog: dialog.dismiss())  # "Stop this upload? ..." no
    stop.click()
    expect(stop).to_be_visible()  # nothing was asked of the API
    page.once("dialog", lambda dialog: dialog.accept())
    stop.click()

    expect(current).to_have_attribute("data-status", "cancelled", timeout=PROCESSING_TIMEOUT_MS)
    expect(page.locator("#current-badge")).to_have_text("Cancelled")
    upload_id = current.get_attribute("data-upload-id")
    upload = requests.get(f"{api_server}/uploads/{upload_id}", timeout=10).json()
    assert upload["chunks"]["cancelled"] > 0
    expect(page.locator("#processing-value")).to_contain_text(
        f"{upload['chunks']['cancelled']:,} cancelled"
    )
    expect(stop).to_be_hidden()


def test_a_completed_upload_can_be_undone_with_progress(api_server, page, tmp_path):
    from playwright.sync_api import expect

    from tests.pipeline.rows import to_csv, valid_row

    rows = [valid_row(n, prefix="PAGEUNDO" + uuid.uuid4().hex[:4]) for n in range(5)]
    path = tmp_path / "undo-me.csv"
    path.write_bytes(to_csv(rows))

    page.goto(f"{api_server}/")
    page.set_input_files("#file-input", path)
    upload_id = wait_for_terminal(page)
    page.once("dialog", lambda dialog: dialog.accept())  # "Cancel every order ...?"
    page.locator("#current-undo").click()

    expect(page.locator("#undo-value")).to_have_text(
        "Undone: 5 orders cancelled", timeout=PROCESSING_TIMEOUT_MS
    )
    expect(page.locator("#current-undo")).to_be_hidden()
    expect(page.locator("#order-cancelled")).to_have_text("5")
    order = requests.get(f"{api_server}/orders/{rows[0]['order_id']}", timeout=10).json()
    assert order["status"] == "cancelled" and order["upload_id"] == upload_id


def test_a_workbook_dropped_on_the_page_goes_through(api_server, page, tmp_path):
    from playwright.sync_api import expect

    from tests.pipeline.rows import to_xlsx

    path = to_xlsx(7, tmp_path / "orders.xlsx", prefix="PAGEXLSX" + uuid.uuid4().hex[:4])

    page.goto(f"{api_server}/")
    page.set_input_files("#file-input", path)
    upload_id = wait_for_terminal(page)

    expect(page.locator("#count-valid")).to_have_text("7")
    upload = requests.get(f"{api_server}/uploads/{upload_id}", timeout=10).json()
    assert upload["filename"] == "orders.xlsx" and upload["counts"]["valid"] == 7
