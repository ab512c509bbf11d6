"""The installed `oms` command against the real API (gunicorn), worker, IMS and stack."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.cli.support import number, parse_fields, run_oms
from tests.conftest import IMS_SERVICE_KEY
from tests.namespaces import Written, assert_nothing_written
from tests.pipeline.rows import COLUMNS, SKUS, their_file, to_csv, valid_row

# IMS writes (fault injection included) need the service key: see ims/auth.py.
IMS_KEY = {"X-Service-Key": IMS_SERVICE_KEY}

pytestmark = pytest.mark.integration


def mixed_rows(prefix: str) -> list[dict]:
    """10 rows: 7 valid, 3 invalid of which 1 repeats an order_id."""
    rows = [valid_row(n, prefix=prefix) for n in range(10)]
    rows[2]["quantity"] = "abc"
    rows[5]["order_id"] = rows[0]["order_id"]
    rows[7]["sku"] = "SKU-DOES-NOT-EXIST"
    return rows


def valid_ids(rows: list[dict]) -> set[str]:
    return {r["order_id"] for i, r in enumerate(rows) if i not in (2, 5, 7)}


def get(api_url: str, path: str, **params) -> requests.Response:
    response = requests.get(api_url + path, params=params, timeout=30)
    response.raise_for_status()
    return response


@pytest.fixture(scope="module")
def mixed(api_server, tmp_path_factory) -> dict:
    """A completed upload with valid, invalid and duplicate rows, uploaded with --json."""
    rows = mixed_rows("CLI-MIX")
    path = tmp_path_factory.mktemp("cli") / "mixed.csv"
    path.write_bytes(to_csv(rows))
    result = run_oms("upload", str(path), "--chunk-rows", "4", "--json", api_url=api_server)
    assert result.returncode == 0, (result.stderr, result.stdout)
    return {"upload": json.loads(result.stdout), "rows": rows}


def test_upload_json_is_the_apis_final_upload(api_server, mixed):
    upload = mixed["upload"]
    assert upload == get(api_server, f"/uploads/{upload['upload_id']}").json()
    assert upload["status"] == "completed"
    assert upload["counts"] == {"rows": 10, "valid": 7, "invalid": 3, "duplicate": 1}
    assert upload["chunks"] == {"total": 3, "done": 3, "failed": 0, "cancelled": 0, "pending": 0}


def test_upload_waits_and_prints_the_apis_counts(api_server, tmp_path):
    path = tmp_path / "summary.csv"
    path.write_bytes(to_csv(mixed_rows("CLI-SUM")))

    result = run_oms("upload", str(path), "--chunk-rows", "3", api_url=api_server)

    assert result.returncode == 0, result.stderr
    summary = parse_fields(result.stdout.decode())
    upload_id = summary["upload"]
    api = get(api_server, f"/uploads/{upload_id}").json()
    assert summary["status"] == api["status"] == "completed"
    assert number(summary["rows"]) == api["counts"]["rows"] == 10
    assert number(summary["valid"]) == api["counts"]["valid"] == 7
    assert number(summary["invalid"]) == api["counts"]["invalid"] == 3
    assert number(summary["duplicates"]) == api["counts"]["duplicate"] == 1
    assert summary["chunks"] == "4 of 4 done, 0 failed"
    assert summary["duration"].endswith(" s")
    assert summary["invalid file"] == api["invalid_file"] == f"{upload_id}.csv"
    assert summary["download it"] == f"oms invalid {upload_id} -o {upload_id}.csv"
    # Progress goes to stderr, never into the summary.
    assert "Uploading summary.csv" in result.stderr
    assert "Processing chunks" in result.stderr
    assert "Uploading" not in result.stdout.decode()


def test_upload_with_missing_columns_exits_3_naming_them(api_server, settings, tmp_path):
    path = tmp_path / "no_sku.csv"
    columns = [c for c in COLUMNS if c not in ("sku", "hub_id")]
    path.write_bytes(to_csv([valid_row(1, prefix="CLI-COLS")], columns=columns))
    before = Written.now(settings)

    result = run_oms("upload", str(path), api_url=api_server)

    assert result.returncode == 3
    assert result.stdout == b""
    assert "error: no_sku.csv: missing required columns: " in result.stderr
    [missing] = [line for line in result.stderr.splitlines() if "missing columns:" in line]
    assert sorted(missing.split(": ", 1)[1].split(", ")) == ["hub_id", "sku"]
    assert "Traceback" not in result.stderr
    assert_nothing_written(settings, before)


def test_empty_file_exits_3(api_server, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = run_oms("upload", str(path), api_url=api_server)
    assert result.returncode == 3
    assert "error: empty.csv: the file is empty" in result.stderr


def test_no_wait_returns_once_accepted(api_server, tmp_path):
    path = tmp_path / "nowait.csv"
    data = to_csv([valid_row(n, prefix="CLI-NOWAIT") for n in range(3)])
    path.write_bytes(data)

    result = run_oms("upload", str(path), "--no-wait", "--json", api_url=api_server)

    assert result.returncode == 0, result.stderr
    accepted = json.loads(result.stdout)
    assert accepted["filename"] == "nowait.csv" and accepted["size"] == len(data)
    assert accepted["status_url"] == f"/uploads/{accepted['upload_id']}"
    # Let it finish, so later tests see a quiet pipeline.
    assert _wait(api_server, accepted["upload_id"])["status"] == "completed"


def _wait(api_server: str, upload_id: str) -> dict:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        upload = get(api_server, f"/uploads/{upload_id}").json()
        if upload["status"] in ("completed", "failed", "rejected"):
            return upload
        time.sleep(0.3)
    raise AssertionError(f"upload {upload_id} did not finish")


def test_waiting_past_the_timeout_exits_5(api_server, tmp_path):
    path = tmp_path / "slow.csv"
    path.write_bytes(to_csv([valid_row(n, prefix="CLI-SLOW") for n in range(2000)]))

    result = run_oms(
        "upload", str(path), "--chunk-rows", "200", "--timeout", "0", api_url=api_server
    )

    assert result.returncode == 5, result.stderr
    assert result.stdout == b""
    [message] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    upload_id = message.split()[2]
    assert " is still " in message
    assert f"follow it with: oms status {upload_id}" in result.stderr
    assert _wait(api_server, upload_id)["status"] == "completed"


def test_the_same_file_again_is_refused_with_its_earlier_upload_unless_forced(
    api_server, mixed, tmp_path
):
    again = tmp_path / "again.csv"
    again.write_bytes(to_csv(mixed["rows"]))  # the very bytes of the mixed upload
    earlier = mixed["upload"]["upload_id"]

    refused = run_oms("upload", str(again), api_url=api_server)
    forced = run_oms("upload", str(again), "--force", "--no-wait", "--json", api_url=api_server)

    assert refused.returncode == 3, refused.stderr
    assert earlier in refused.stderr and "uploaded before" in refused.stderr
    assert f"oms status {earlier}" in refused.stderr
    assert f"oms upload {again} --force" in refused.stderr
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["upload_id"] != earlier


def test_status_detail_matches_the_api(api_server, mixed):
    upload_id = mixed["upload"]["upload_id"]

    result = run_oms("status", upload_id, api_url=api_server)

    assert result.returncode == 0, result.stderr
    detail = parse_fields(result.stdout.decode())
    assert detail["upload"] == upload_id and detail["status"] == "completed"
    assert detail["file"].startswith("mixed.csv (")
    assert [number(detail[k]) for k in ("rows", "valid", "invalid", "duplicates")] == [10, 7, 3, 1]
    assert detail["invalid by field"] == "order_id 1, quantity 1, sku 1"
    assert {"duplicate 1", "unknown_sku 1"} <= set(detail["invalid by rule"].split(", "))
    as_json = run_oms("status", upload_id, "--json", api_url=api_server)
    assert json.loads(as_json.stdout) == get(api_server, f"/uploads/{upload_id}").json()


def test_status_of_an_unknown_upload_exits_3(api_server):
    result = run_oms("status", "0" * 32, api_url=api_server)
    assert result.returncode == 3
    assert result.stderr.startswith("error: ")
    assert "0" * 32 in result.stderr


def test_status_lists_recent_uploads_filtered_by_status(api_server, mixed):
    upload_id = mixed["upload"]["upload_id"]

    result = run_oms("status", "--page-size", "200", api_url=api_server)

    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.decode().splitlines()
    assert header.split() == [
        "UPLOAD",
        "ID",
        "STATUS",
        "FILE",
        "ROWS",
        "VALID",
        "INVALID",
        "CHUNKS",
        "CREATED",
        "(UTC)",
    ]
    [line] = [line for line in lines if line.startswith(upload_id)]
    assert line.split()[1:7] == ["completed", "mixed.csv", "10", "7", "3", "3/3"]
    listed = get(api_server, "/uploads", page_size=200).json()
    assert len(lines) == len(listed["items"])
    if listed["next"]:
        assert f"next page: --cursor {listed['next']}" in result.stderr
    else:
        assert f"{len(lines):,} uploads; end of the list" in result.stderr

    completed = json.loads(
        run_oms(
            "status", "--status", "completed", "--page-size", "200", "--json", api_url=api_server
        ).stdout
    )
    assert upload_id in [u["upload_id"] for u in completed["items"]]
    assert {u["status"] for u in completed["items"]} == {"completed"}
    rejected = json.loads(
        run_oms("status", "--status", "rejected", "--json", api_url=api_server).stdout
    )
    assert upload_id not in [u["upload_id"] for u in rejected["items"]]


def test_stats_match_the_api(api_server, mixed):
    before = get(api_server, "/stats").json()
    as_json = json.loads(run_oms("stats", "--json", api_url=api_server).stdout)
    text = run_oms("stats", api_url=api_server)
    after = get(api_server, "/stats").json()

    assert as_json in (before, after)
    assert text.returncode == 0, text.stderr
    lines = parse_fields(text.stdout.decode())
    assert number(lines["orders"]) == after["orders"]["total"]
    assert number(lines["uploads"]) == after["uploads"]["total"]
    assert number(lines["rows"]) == after["rows"]["rows"]
    for hub, count in after["orders"]["by_hub"].items():
        assert number(lines[hub]) == count
    assert number(lines["completed"]) == after["uploads"]["by_status"]["completed"]


def test_invalid_downloads_the_apis_invalid_file(api_server, mixed, tmp_path):
    upload = mixed["upload"]
    expected = get(api_server, upload["invalid_file_url"]).content
    target = tmp_path / "bad.csv"

    result = run_oms("invalid", upload["upload_id"], "-o", str(target), api_url=api_server)

    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == expected
    assert expected.count(b"\n") == 4  # header + 3 invalid rows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]  # no partial file
    assert f"to {target}" in result.stderr

    to_stdout = run_oms("invalid", upload["upload_id"], "-o", "-", api_url=api_server)
    assert to_stdout.returncode == 0 and to_stdout.stdout == expected


def test_invalid_of_an_upload_without_invalid_rows_exits_3(api_server, tmp_path):
    path = tmp_path / "clean.csv"
    path.write_bytes(to_csv([valid_row(n, prefix="CLI-CLEAN") for n in range(3)]))
    upload = json.loads(run_oms("upload", str(path), "--json", api_url=api_server).stdout)
    target = tmp_path / "out.csv"

    result = run_oms("invalid", upload["upload_id"], "-o", str(target), api_url=api_server)

    assert result.returncode == 3
    assert "has no invalid-records file" in result.stderr
    assert "every row was valid" in result.stderr
    assert not target.exists()


def test_orders_filtered_by_upload_are_exactly_its_orders(api_server, mixed):
    upload_id = mixed["upload"]["upload_id"]

    as_json = run_oms(
        "orders", "--upload", upload_id, "--page-size", "200", "--json", api_url=api_server
    )

    assert as_json.returncode == 0, as_json.stderr
    page = json.loads(as_json.stdout)
    assert page["next"] is None and len(page["items"]) == 7
    assert {o["order_id"] for o in page["items"]} == valid_ids(mixed["rows"])
    assert {o["upload_id"] for o in page["items"]} == {upload_id}

    text = run_oms("orders", "--upload", upload_id, "--status", "on_hold", api_url=api_server)
    header, *lines = text.stdout.decode().splitlines()
    assert header.split()[:3] == ["ORDER", "ID", "STATUS"]
    assert {line.split()[0] for line in lines} == valid_ids(mixed["rows"])
    assert "7 orders; end of the list" in text.stderr

    paged = run_oms("orders", "--upload", upload_id, "--page-size", "3", api_url=api_server)
    assert len(paged.stdout.decode().splitlines()) == 1 + 3
    cursor = paged.stderr.split("--cursor ")[1].split()[0]
    rest = json.loads(
        run_oms(
            "orders",
            "--upload",
            upload_id,
            "--page-size",
            "3",
            "--cursor",
            cursor,
            "--json",
            api_url=api_server,
        ).stdout
    )
    first = {line.split()[0] for line in paged.stdout.decode().splitlines()[1:]}
    assert len(rest["items"]) == 3 and not first & {o["order_id"] for o in rest["items"]}

    every = run_oms(
        "orders", "--upload", upload_id, "--page-size", "2", "--all", "--json", api_url=api_server
    )
    streamed = [json.loads(line)["order_id"] for line in every.stdout.decode().splitlines()]
    assert sorted(streamed) == sorted(valid_ids(mixed["rows"]))
    assert "7 orders in all" in every.stderr

    hub = mixed["rows"][0]["hub_id"]
    by_hub = json.loads(
        run_oms("orders", "--upload", upload_id, "--hub", hub, "--json", api_url=api_server).stdout
    )
    assert by_hub["items"] and {o["hub_id"] for o in by_hub["items"]} == {hub}


def test_order_shows_one_order(api_server, mixed):
    row = mixed["rows"][1]

    result = run_oms("order", row["order_id"], api_url=api_server)

    assert result.returncode == 0, result.stderr
    detail = parse_fields(result.stdout.decode())
    assert detail["order"] == row["order_id"]
    assert detail["status"] == "on_hold"
    assert detail["hub"] == row["hub_id"]
    assert detail["total"] == row["total_amount"]
    assert detail["item"].startswith(row["sku"])
    api = get(api_server, f"/orders/{row['order_id']}").json()
    assert json.loads(run_oms("order", row["order_id"], "--json", api_url=api_server).stdout) == api

    missing = run_oms("order", "CLI-NO-SUCH-ORDER", api_url=api_server)
    assert missing.returncode == 3
    assert "CLI-NO-SUCH-ORDER" in missing.stderr


def test_retry_of_a_completed_upload_exits_3_with_the_conflict(api_server, mixed):
    upload_id = mixed["upload"]["upload_id"]

    result = run_oms("retry", upload_id, "--wait", api_url=api_server)

    assert result.returncode == 3
    refused = requests.post(f"{api_server}/uploads/{upload_id}/retry", timeout=30)
    assert refused.status_code == 409
    assert result.stderr.splitlines()[0] == f"error: {refused.json()['message']}"
    assert get(api_server, f"/uploads/{upload_id}").json() == mixed["upload"]  # unchanged


def test_a_failed_upload_exits_1_and_retry_wait_completes_it(
    api_server, ims_service, settings, tmp_path
):
    rows = [valid_row(n, prefix="CLI-RETRY", sku=SKUS[0]) for n in range(6)]
    rows[4]["sku"] = SKUS[1]  # only chunk 1 (rows 3-5) asks IMS about SKUS[1]
    path = tmp_path / "retry.csv"
    path.write_bytes(to_csv(rows))
    faults = f"{ims_service}/v1/faults/validate"
    requests.put(
        faults,
        json={"status": 500, "count": settings.task_max_retries + 1, "sku": SKUS[1]},
        headers=IMS_KEY,
        timeout=5,
    ).raise_for_status()
    try:
        failed = run_oms("upload", str(path), "--chunk-rows", "3", api_url=api_server)
    finally:
        requests.delete(faults, headers=IMS_KEY, timeout=5).raise_for_status()

    assert failed.returncode == 1, failed.stderr
    summary = parse_fields(failed.stdout.decode())
    upload_id = summary["upload"]
    assert summary["status"] == "failed"
    assert summary["chunks"] == "1 of 2 done, 1 failed"
    assert summary["failed chunks"] == "1"
    assert summary["error"].startswith("1 of 2 chunks failed; chunk 1:")
    assert summary["retry it"] == f"oms retry {upload_id} --wait"

    retried = run_oms("retry", upload_id, "--wait", "--json", api_url=api_server)

    assert retried.returncode == 0, retried.stderr
    done = json.loads(retried.stdout)
    assert done == get(api_server, f"/uploads/{upload_id}").json()
    assert done["status"] == "completed"
    assert done["counts"] == {"rows": 6, "valid": 6, "invalid": 0, "duplicate": 0}


def test_cancel_and_move_go_through_the_workflow(api_server, tmp_path):
    path = tmp_path / "cancel.csv"
    rows = [valid_row(n, prefix="CLI-CANCEL") for n in range(2)]
    path.write_bytes(to_csv(rows))
    upload = json.loads(run_oms("upload", str(path), "--json", api_url=api_server).stdout)
    order_id = rows[0]["order_id"]  # on hold: no finalizer runs in this module

    cancelled = run_oms(
        "cancel", order_id, "--reason", "customer changed their mind", api_url=api_server
    )
    again = run_oms("cancel", order_id, api_url=api_server)
    refused = run_oms("move", order_id, "fulfilled", api_url=api_server)
    shown = run_oms("order", order_id, api_url=api_server)

    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.decode().strip() == f"order {order_id} is cancelled"
    assert again.returncode == 0 and b"is cancelled" in again.stdout  # changes nothing
    assert refused.returncode == 3
    assert "cannot become fulfilled" in refused.stderr
    history = shown.stdout.decode().splitlines()[-1].split()
    assert history[2:5] == ["on_hold", "cancelled", "api"]
    assert "customer changed their mind" in shown.stdout.decode()
    listed = json.loads(
        run_oms(
            "orders",
            "--upload",
            upload["upload_id"],
            "--status",
            "cancelled",
            "--json",
            api_url=api_server,
        ).stdout
    )
    assert [o["order_id"] for o in listed["items"]] == [order_id]


def test_a_file_with_other_column_names_goes_through_with_a_saved_mapping(api_server, tmp_path):
    path = tmp_path / "theirs.csv"
    path.write_bytes(their_file("CLIMAP"))

    refused = run_oms("upload", str(path), api_url=api_server)
    saved = run_oms(
        "mapping", "save", "cli-shop", "sku_id=sku", "price=unit_price", "created_at=order_date",
        "id=order_id", api_url=api_server,
    )  # fmt: skip
    listed = run_oms("mapping", "list", api_url=api_server)
    mapped = run_oms("upload", str(path), "--mapping", "cli-shop", "--json", api_url=api_server)

    assert refused.returncode == 3
    assert "--map sku_id=sku" in refused.stderr and "--map id=order_id" in refused.stderr
    assert saved.returncode == 0 and "sku_id -> sku" in saved.stdout.decode(), saved.stderr
    assert "cli-shop" in listed.stdout.decode()
    assert mapped.returncode == 0, mapped.stderr
    upload = json.loads(mapped.stdout)
    assert upload["status"] == "completed" and upload["counts"]["valid"] == 4
    assert upload["mapping_name"] == "cli-shop"


def test_map_pairs_given_with_the_upload_are_used(api_server, tmp_path):
    path = tmp_path / "theirs.csv"
    path.write_bytes(their_file("CLIMAP2"))
    pairs = ["sku_id=sku", "price=unit_price", "created_at=order_date", "id=order_id"]

    result = run_oms(
        "upload", str(path), *[arg for pair in pairs for arg in ("--map", pair)], "--json",
        api_url=api_server,
    )  # fmt: skip
    bad = run_oms("upload", str(path), "--map", "no-equals-sign", api_url=api_server)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["mapping"]["sku_id"] == "sku"
    assert bad.returncode == 2 and "FILE_COLUMN=OMS_COLUMN" in bad.stderr


def test_check_then_commit(api_server, tmp_path):
    path = tmp_path / "checked.csv"
    path.write_bytes(to_csv(mixed_rows("CLI-CHK")))

    checked = run_oms("check", str(path), "--chunk-rows", "4", api_url=api_server)

    assert checked.returncode == 0, checked.stderr
    summary = parse_fields(checked.stdout.decode())
    check_id = summary["upload"]
    assert summary["check only"].startswith("yes")
    assert [number(summary[k]) for k in ("rows", "valid", "invalid", "duplicates")] == [10, 7, 3, 1]
    assert summary["commit it"] == f"oms commit {check_id}"
    assert get(api_server, "/orders", upload_id=check_id).json()["items"] == []

    committed = run_oms("commit", check_id, "--json", api_url=api_server)

    assert committed.returncode == 0, committed.stderr
    real = json.loads(committed.stdout)
    assert real["status"] == "completed" and real["committed_from"] == check_id
    assert real["counts"] == {"rows": 10, "valid": 7, "invalid": 3, "duplicate": 1}
    again = run_oms("commit", check_id, api_url=api_server)
    assert again.returncode == 3 and real["upload_id"] in again.stderr


def test_an_xlsx_workbook_is_uploaded_like_a_csv(api_server, tmp_path):
    from tests.pipeline.test_spreadsheet import workbook

    rows = [valid_row(n, prefix="CLIXLSX") for n in range(3)]
    path = tmp_path / "orders.xlsx"
    workbook(rows, path)

    result = run_oms("upload", str(path), "--json", api_url=api_server)

    assert result.returncode == 0, result.stderr
    upload = json.loads(result.stdout)
    assert upload["filename"] == "orders.xlsx" and upload["counts"]["valid"] == 3


def test_stop_cancels_a_running_upload_and_undo_cancels_its_orders(api_server, tmp_path):
    rows = [valid_row(n, prefix="CLI-STOP") for n in range(3000)]
    path = tmp_path / "stop.csv"
    path.write_bytes(to_csv(rows))
    accepted = run_oms(
        "upload", str(path), "--no-wait", "--chunk-rows", "10", "--json", api_url=api_server
    )
    upload_id = json.loads(accepted.stdout)["upload_id"]

    stopped = run_oms("stop", upload_id, "--yes", api_url=api_server)

    assert stopped.returncode == 0, stopped.stderr
    summary = parse_fields(stopped.stdout.decode())
    assert summary["status"] == "cancelled"
    upload = get(api_server, f"/uploads/{upload_id}").json()
    assert summary["chunks"].endswith(f"{upload['chunks']['cancelled']} cancelled")
    stored = upload["counts"]["valid"]
    assert stored < len(rows)

    undone = run_oms("undo", upload_id, "--yes", api_url=api_server)

    assert undone.returncode == 0, undone.stderr
    progress = parse_fields(undone.stdout.decode())
    assert progress["undo"] == "done"
    assert number(progress["orders cancelled"]) == stored
    listed = get(api_server, "/orders", upload_id=upload_id, status="cancelled", page_size=200)
    assert len(listed.json()["items"]) == min(stored, 200)
    status = parse_fields(run_oms("status", upload_id, api_url=api_server).stdout.decode())
    assert status["undo"].startswith(f"done: {stored} orders cancelled, 0 kept")


def test_stop_of_a_completed_upload_exits_3_and_says_undo(api_server, mixed, settings):
    upload_id = mixed["upload"]["upload_id"]
    before = Written.now(settings)

    result = run_oms("stop", upload_id, "--yes", api_url=api_server)

    assert result.returncode == 3
    assert "nothing is left to stop" in result.stderr
    assert f"oms undo {upload_id}" in result.stderr
    assert_nothing_written(settings, before)
