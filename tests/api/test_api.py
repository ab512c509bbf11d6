"""Every endpoint of the API and its errors, on the real stack."""

from decimal import Decimal

import pytest

from oms.api.app import create_app
from tests.namespaces import Written, assert_nothing_written, changed
from tests.pipeline.helpers import upload_bytes, wait_for_upload
from tests.pipeline.rows import to_csv, valid_row

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def finished(api, pipeline):
    """One completed upload with two valid orders at different hubs and one invalid row."""
    rows = [
        valid_row(1, prefix="APIT"),
        valid_row(2, prefix="APIT"),
        valid_row(3, prefix="APIT", quantity="-1"),
    ]
    return wait_for_upload(api, upload_bytes(api, "api.csv", to_csv(rows))["upload_id"])


def test_openapi_describes_every_endpoint(api):
    spec = api.get("/openapi.json").get_json()

    assert {
        "/upload",
        "/uploads",
        "/uploads/{upload_id}",
        "/uploads/{upload_id}/retry",
        "/orders",
        "/orders/{order_id}",
        "/invalid-files",
        "/invalid-files/{name}",
        "/stats",
        "/healthz",
        "/readyz",
    } <= set(spec["paths"])
    upload = spec["paths"]["/upload"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"202", "413", "415", "422"} <= set(upload["responses"])


def test_docs_ui_is_served_with_local_assets(api):
    page = api.get("/docs").get_data(as_text=True)

    assert "/docs/assets/swagger-ui-bundle.js" in page
    assert "https://" not in page.split("<body>")[0]
    assert api.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_upload_detail_shows_progress_counts_timings_and_links(api, finished):
    assert finished["status"] == "completed"
    assert finished["counts"] == {"rows": 3, "valid": 2, "invalid": 1, "duplicate": 0}
    assert finished["chunks"] == {"total": 1, "done": 1, "failed": 0, "cancelled": 0, "pending": 0}
    assert finished["duration_s"] > 0
    assert finished["invalid_file_url"] == f"/invalid-files/{finished['upload_id']}.csv"
    assert finished["status_url"] == f"/uploads/{finished['upload_id']}"


def test_upload_list_is_paginated_and_filtered_by_status(api, finished):
    first = api.get("/uploads?page_size=1").get_json()
    completed = api.get("/uploads?status=completed&page_size=200").get_json()

    assert first["page_size"] == 1 and len(first["items"]) == 1
    if first["next"]:
        second = api.get(first["next_url"]).get_json()
        assert second["items"][0]["upload_id"] != first["items"][0]["upload_id"]
        assert second["items"][0]["seq"] < first["items"][0]["seq"]
    assert all(u["status"] == "completed" for u in completed["items"])
    assert finished["upload_id"] in {u["upload_id"] for u in completed["items"]}


def test_a_made_up_cursor_is_422_naming_the_field(api):
    response = api.get("/orders?cursor=bm90LWEtY3Vyc29y")

    assert response.status_code == 422
    assert "cursor" in response.get_json()["fields"]["query"]


def test_upload_list_rejects_an_unknown_status_with_the_field(api):
    response = api.get("/uploads?status=sleeping")

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert "status" in body["fields"]["query"]


def test_unknown_upload_is_404_json(api):
    response = api.get("/uploads/0123456789abcdef0123456789abcdef")

    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_orders_filter_by_upload_status_and_hub(api, finished):
    mine = api.get(f"/orders?upload_id={finished['upload_id']}").get_json()
    hub = mine["items"][0]["hub_id"]
    by_hub = api.get(f"/orders?upload_id={finished['upload_id']}&hub_id={hub}").get_json()
    on_hold = api.get(f"/orders?upload_id={finished['upload_id']}&status=on_hold").get_json()
    confirmed = api.get(f"/orders?upload_id={finished['upload_id']}&status=confirmed").get_json()

    assert len(mine["items"]) == 2 and mine["next"] is None
    assert {o["hub_id"] for o in by_hub["items"]} == {hub}
    assert len(on_hold["items"]) == 2 and confirmed["items"] == []


def test_order_detail_has_money_as_decimal_strings(api, finished):
    listed = api.get(f"/orders?upload_id={finished['upload_id']}&page_size=1").get_json()
    order_id = listed["items"][0]["order_id"]

    order = api.get(f"/orders/{order_id}").get_json()

    assert order["order_id"] == order_id
    item = order["item"]
    assert Decimal(item["total_amount"]) == item["quantity"] * Decimal(item["unit_price"])
    assert item["unit_price"].split(".")[1].isdigit() and len(item["unit_price"].split(".")[1]) == 2
    assert order["status"] == "on_hold"
    assert api.get("/orders/NOPE-404").status_code == 404


def test_orders_page_size_is_bounded(api):
    response = api.get("/orders?page_size=5000")

    assert response.status_code == 422
    assert "page_size" in response.get_json()["fields"]["query"]


def test_invalid_files_are_listed_and_downloadable(api, finished):
    listed = api.get("/invalid-files").get_json()
    mine = next(f for f in listed if f["upload_id"] == finished["upload_id"])

    response = api.get(mine["url"])

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].endswith("row_number,errors") and len(lines) == 2


def test_an_unknown_invalid_file_is_404(api):
    assert api.get("/invalid-files/../../etc/passwd").status_code == 404
    assert api.get("/invalid-files/0123456789abcdef0123456789abcdef.csv").status_code == 404


def test_stats_has_orders_and_uploads(api, finished):
    stats = api.get("/stats").get_json()

    # The module's namespace holds only the `finished` upload.
    assert stats["orders"]["total"] == 2
    assert stats["uploads"]["by_status"]["completed"] == 1
    assert stats["uploads"]["total"] == 1
    assert set(stats["rows"]) == {"rows", "valid", "invalid", "duplicate"}


def test_health_and_readiness_check_each_dependency(api, ims_service):
    assert api.get("/healthz").get_json() == {"status": "ok"}
    ready = api.get("/readyz")
    body = ready.get_json()
    assert set(body["checks"]) == {"s3", "sqs", "mongodb", "kafka", "ims"}
    assert ready.status_code == 200, body
    assert body["failed"] == []


def test_readiness_names_the_dependency_that_fails(settings):
    from oms import readiness

    with changed(settings, ims_url="http://127.0.0.1:9"):
        checks = readiness.check_all()

    assert checks["ims"] != "ok" and checks["mongodb"] == "ok"


def test_unknown_route_and_method_are_json(api):
    assert api.get("/nope").get_json()["code"] == "not_found"
    response = api.delete("/stats")
    assert response.status_code == 405
    assert response.get_json()["code"] == "method_not_allowed"


def test_upload_of_a_non_csv_name_is_415(api, settings):
    import io

    before = Written.now(settings)
    response = api.post(
        "/upload",
        data={"file": (io.BytesIO(b"a,b\n1,2\n"), "orders.exe", "application/x-msdownload")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 415
    assert response.get_json()["code"] == "not_csv"
    assert_nothing_written(settings, before)


def test_upload_over_the_size_limit_is_413_and_nothing_is_stored(settings):
    import io

    data = to_csv([valid_row(n, prefix="BIG") for n in range(50)])
    before = Written.now(settings)

    with changed(settings, max_upload_bytes=1000) as small:
        response = (
            create_app(small)
            .test_client()
            .post(
                "/upload",
                data={"file": (io.BytesIO(data), "b.csv")},
                content_type="multipart/form-data",
            )
        )

    assert response.status_code == 413
    assert response.get_json()["code"] == "too_large"
    assert_nothing_written(settings, before)


@pytest.fixture
def keyed_api(settings):
    with changed(settings, api_keys=("k-one", "k-two")) as keyed:
        yield create_app(keyed).test_client()


def test_api_keys_401_without_403_wrong_200_right(keyed_api):
    assert keyed_api.get("/stats").status_code == 401
    assert keyed_api.get("/stats").get_json()["code"] == "unauthorized"
    assert keyed_api.get("/stats", headers={"X-API-Key": "wrong"}).status_code == 403
    assert keyed_api.get("/stats", headers={"X-API-Key": "k-two"}).status_code == 200


def test_api_keys_leave_health_checks_open(keyed_api):
    assert keyed_api.get("/healthz").status_code == 200
    assert keyed_api.post("/upload").status_code == 401
