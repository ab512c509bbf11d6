"""`oms webhook` against the real API (gunicorn), worker and stack: add, list, see the
deliveries a real upload made to a real receiver, delete."""

from __future__ import annotations

import json
import time

import pytest

from oms.webhooks import signing
from tests.cli.support import parse_fields, run_oms
from tests.namespaces import Written, assert_nothing_written
from tests.pipeline.rows import to_csv, valid_row
from tests.webhooks.receiver import receiver

pytestmark = pytest.mark.integration


def test_a_webhook_added_by_the_cli_is_told_and_its_deliveries_listed(api_server, tmp_path):
    with receiver() as hooks:
        added = run_oms(
            "webhook",
            "add",
            f"{hooks.url}/cli",
            "--event",
            "completed",
            "--event",
            "rejected",
            api_url=api_server,
        )
        assert added.returncode == 0, added.stderr
        shown = parse_fields(added.stdout.decode())
        webhook_id, secret = shown["webhook"], shown["secret"]
        assert shown["events"] == "upload.completed, upload.rejected"
        assert "not shown again" in added.stderr
        listed = run_oms("webhook", "list", api_url=api_server).stdout.decode()
        assert webhook_id in listed and "completed, rejected" in listed
        path = tmp_path / "cli-hook.csv"
        path.write_bytes(to_csv([valid_row(0, prefix="WHCLI")]))

        uploaded = run_oms("upload", str(path), "--json", api_url=api_server)
        [request] = hooks.wait_for("/cli", 1)

        upload = json.loads(uploaded.stdout)
        assert signing.verify(
            secret,
            request.headers["OMS-Timestamp"],
            request.body.decode(),
            request.headers["OMS-Signature"],
        )
        assert json.loads(request.body)["upload_id"] == upload["upload_id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = json.loads(
                run_oms("webhook", "deliveries", webhook_id, "--json", api_url=api_server).stdout
            )
            if found and found[0]["status"] == "delivered":
                break
            time.sleep(0.3)
        assert found[0]["upload_id"] == upload["upload_id"]
        text = run_oms("webhook", "deliveries", webhook_id, api_url=api_server).stdout.decode()
        assert "delivered" in text and "HTTP 200" in text and upload["upload_id"] in text

        deleted = run_oms("webhook", "delete", webhook_id, api_url=api_server)
        again = run_oms("webhook", "delete", webhook_id, api_url=api_server)

        assert (
            deleted.returncode == 0 and f"deleted webhook {webhook_id}" in deleted.stdout.decode()
        )
        assert again.returncode == 3 and "no webhook" in again.stderr  # refused: exit 3
        assert webhook_id not in run_oms("webhook", "list", api_url=api_server).stdout.decode()


def test_the_cli_refuses_a_bad_webhook_with_the_apis_reason(api_server, settings):
    before = Written.now(settings)

    scheme = run_oms(
        "webhook", "add", "ftp://hooks.example/", "--event", "failed", api_url=api_server
    )
    event = run_oms(
        "webhook", "add", "http://hooks.example/", "--event", "exploded", api_url=api_server
    )
    no_event = run_oms("webhook", "add", "http://hooks.example/", api_url=api_server)

    assert scheme.returncode == 3 and "http://" in scheme.stderr
    assert event.returncode == 2 and "exploded" in event.stderr  # click: a usage error
    assert no_event.returncode == 2 and "--event" in no_event.stderr
    assert_nothing_written(settings, before)
