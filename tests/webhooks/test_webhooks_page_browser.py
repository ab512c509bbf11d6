"""The upload page's Webhooks panel in a real browser (Debian's Chromium driven by
Playwright), against the API over gunicorn with a worker and a real receiver."""

from __future__ import annotations

import json

import pytest
import requests

from devstack.browser import CHROMIUM_ARGS, ensure_chromium
from oms.webhooks import signing
from tests.pipeline.rows import to_csv, valid_row
from tests.webhooks.receiver import receiver

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=ensure_chromium(), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()
        context.close()
        chromium.close()


def test_the_panel_adds_a_webhook_shows_its_deliveries_and_deletes_it(api_server, page):
    from playwright.sync_api import expect

    with receiver() as hooks:
        page.goto(f"{api_server}/")
        panel = page.locator("#webhooks")
        expect(panel.get_by_role("heading", name="Webhooks")).to_be_visible()
        expect(page.locator("#webhooks-body")).to_contain_text("No webhooks yet.")

        page.fill("#webhook-url", f"{hooks.url}/page")
        page.uncheck("input[name=webhook-event][value='upload.failed']")
        page.uncheck("input[name=webhook-event][value='upload.rejected']")
        page.uncheck("input[name=webhook-event][value='upload.cancelled']")
        page.click("#webhook-add")
        expect(page.locator("#webhook-secret")).to_be_visible()
        secret = page.locator("#webhook-secret-value").inner_text()
        row = page.locator("#webhooks-body tr[data-webhook-id]")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(f"{hooks.url}/page")
        expect(row.locator("td").nth(1)).to_have_text("completed")
        webhook_id = row.get_attribute("data-webhook-id")

        accepted = requests.post(
            f"{api_server}/upload",
            files={"file": ("page.csv", to_csv([valid_row(0, prefix="WHPAGE")]), "text/csv")},
            timeout=30,
        ).json()
        [request] = hooks.wait_for("/page", 1)
        assert signing.verify(
            secret,
            request.headers["OMS-Timestamp"],
            request.body.decode(),
            request.headers["OMS-Signature"],
        )
        assert json.loads(request.body)["upload_id"] == accepted["upload_id"]

        delivered = page.locator("#webhook-deliveries-list .delivery[data-status=delivered]")
        for _ in range(50):  # the delivery is recorded right after the receiver answered
            row.locator(".webhook-deliveries").click()
            if delivered.count():
                break
            page.wait_for_timeout(200)
        expect(delivered).to_contain_text(accepted["upload_id"])
        expect(delivered.locator(".delivery__attempts li").first).to_contain_text("HTTP 200")

        page.once("dialog", lambda dialog: dialog.accept())
        row.locator(".webhook-delete").click()
        expect(page.locator("#webhooks-body tr[data-webhook-id]")).to_have_count(0)
        assert requests.get(f"{api_server}/webhooks/{webhook_id}", timeout=10).status_code == 404
