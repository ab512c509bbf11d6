"""Security headers on every kind of response (JSON, errors, downloads, the page, its
assets, Swagger UI, /openapi.json), and the page and the docs still working under their
Content-Security-Policy in a real browser (Debian's Chromium, Playwright)."""

from __future__ import annotations

import pytest
import requests

from devstack.browser import CHROMIUM_ARGS, ensure_chromium
from oms.api.security_headers import API_CSP, PAGE_CSP
from oms.config import environ
from oms.stores import s3
from oms.uploads import keys
from tests.servers import ROOT, gunicorn

pytestmark = pytest.mark.integration

KEY = "security-headers-key"
UPLOAD_ID = "5ec0" * 8
DOCUMENTS = ["/", "/docs"]
ASSETS = ["/page-static/upload.js", "/page-static/upload.css", "/docs/assets/swagger-ui.css"]
DATA = [
    "/healthz",
    "/uploads",
    "/openapi.json",
    "/metrics",
    "/uploads/0123456789abcdef0123456789abcdef",  # 404
    "/orders?page_size=0",  # 422
    "/no-such-route",  # 404 from routing
    f"/invalid-files/{UPLOAD_ID}.csv",  # a download
]


@pytest.fixture(scope="module")
def invalid_file(settings):
    s3.put_bytes(keys.invalid_key(UPLOAD_ID), b"order_id,row_number,errors\nX,2,bad\n")


@pytest.fixture(scope="module")
def server(settings, invalid_file):
    log = ROOT / ".stack" / "logs" / f"test-api-{settings.sqs_queue_prefix.rstrip('-')}.log"
    with gunicorn("oms.api.wsgi:app", log, env={**environ(settings), "OMS_API_KEYS": KEY}) as (
        url,
        _,
    ):
        yield url


def fetch(server: str, path: str) -> requests.Response:
    return requests.get(f"{server}{path}", headers={"X-API-Key": KEY}, timeout=10)


@pytest.mark.parametrize("path", DOCUMENTS + ASSETS + DATA)
def test_every_response_has_the_security_headers(server, path):
    headers = fetch(server, path).headers

    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", DOCUMENTS + ASSETS)
def test_documents_and_their_assets_load_only_from_their_own_origin(server, path):
    assert fetch(server, path).headers["Content-Security-Policy"] == PAGE_CSP


@pytest.mark.parametrize("path", DOCUMENTS + DATA)
def test_data_and_documents_are_never_cached(server, path):
    response = fetch(server, path)

    assert response.headers["Cache-Control"] == "no-store"
    if path not in DOCUMENTS:
        assert response.headers["Content-Security-Policy"] == API_CSP


def test_the_invalid_file_download_is_an_attachment_that_is_not_sniffed(server):
    response = fetch(server, f"/invalid-files/{UPLOAD_ID}.csv")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- in a browser ---------------------------------------------------------------------

# Collects every CSP violation the page reports, before any of its scripts runs.
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=ensure_chromium(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.console_messages = []
    page.on("console", lambda message: page.console_messages.append(message.text))
    yield page
    context.close()


def csp_complaints(page) -> list[str]:
    reported = page.evaluate("window.cspViolations || []")
    logged = [m for m in page.console_messages if "Content Security Policy" in m]
    return reported + logged


def test_the_page_runs_under_its_policy_and_keeps_its_headers(server, page):
    from playwright.sync_api import expect

    response = page.goto(f"{server}/")

    assert response.headers["content-security-policy"] == PAGE_CSP
    assert response.headers["x-frame-options"] == "DENY"
    # Its script ran: it asks for the API key (this server has one).
    expect(page.get_by_role("dialog")).to_contain_text("API key needed")
    page.get_by_role("textbox", name="API key").fill(KEY)
    page.get_by_role("button", name="Save key").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.locator("#recent-error")).to_be_hidden()
    assert csp_complaints(page) == []


def test_the_webhooks_panel_asks_for_the_key_with_the_reason_and_loads_with_it(server, page):
    """Only the Webhooks panel is refused (every other call gets the key added on the
    way), so its refusal alone opens the dialog: it must say why, and the key saved
    there must load the panel."""
    from playwright.sync_api import expect

    def add_key(route):
        route.continue_(headers={**route.request.headers, "x-api-key": KEY})

    page.route(lambda url: "/webhooks" not in url, add_key)
    page.goto(f"{server}/")

    expect(page.get_by_role("dialog")).to_contain_text("API key needed")
    expect(page.locator("#webhooks-error")).to_be_visible()
    page.get_by_role("textbox", name="API key").fill(KEY)
    page.get_by_role("button", name="Save key").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.locator("#webhooks-body")).to_contain_text("No webhooks yet.")
    expect(page.locator("#webhooks-error")).to_be_hidden()


def test_swagger_ui_renders_under_the_same_policy(server, page):
    from playwright.sync_api import expect

    response = page.goto(f"{server}/docs")

    assert response.headers["content-security-policy"] == PAGE_CSP
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible(timeout=20_000)
    assert operations.count() >= 10
    expect(page.locator(".auth-wrapper .authorize")).to_be_visible()  # the API-key scheme
    assert csp_complaints(page) == []


def test_no_other_page_may_frame_the_upload_page(server, page):
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text) as refused:
        page.set_content(f'<iframe id="frame" src="{server}/"></iframe>')

    assert "has been blocked" in refused.value.text
    framed = page.frame_locator("#frame")
    assert framed.get_by_role("heading", name="Upload orders").count() == 0
