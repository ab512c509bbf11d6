"""GET /metrics on the real stack: a processed file shows in the workers' histograms and in
the counts read from MongoDB."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from oms.uploads import repository as repo
from tests.pipeline.helpers import upload_bytes, wait_for_upload
from tests.pipeline.rows import to_csv, valid_row

pytestmark = pytest.mark.integration

STAGES = ("fetch", "parse", "validate", "ims", "insert", "publish", "invalid_part")


@pytest.fixture(scope="module")
def metrics_api(settings):
    from oms.api.app import create_app

    return create_app(settings).test_client()


def scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_a_processed_file_shows_in_chunk_ims_upload_and_row_metrics(api, pipeline, metrics_api):
    before = scrape(metrics_api)
    rows = [valid_row(n, prefix="MET") for n in range(6)]
    rows[4]["quantity"] = "abc"

    accepted = upload_bytes(api, "metrics.csv", to_csv(rows), chunk_rows=2)
    upload = wait_for_upload(api, accepted["upload_id"])
    after = scrape(metrics_api)

    assert upload["status"] == "completed", upload
    assert upload["chunks"]["total"] == 3
    chunks = value(after, "oms_chunk_seconds_count") - value(before, "oms_chunk_seconds_count")
    assert chunks == 3
    assert value(after, "oms_chunk_seconds_bucket", le="+Inf") == 3  # the module's only
    assert value(after, "oms_chunk_seconds_sum") > value(before, "oms_chunk_seconds_sum")
    for stage in STAGES:
        grown = value(after, "oms_chunk_stage_seconds_count", stage=stage) - value(
            before, "oms_chunk_stage_seconds_count", stage=stage
        )
        assert grown == 3, stage
    for chunk in repo.list_chunks(upload["upload_id"]):  # and with each chunk's record
        assert set(chunk["stages"]) == set(STAGES)
        assert 0 < sum(chunk["stages"].values()) <= chunk["seconds"] + 0.001
    # IMS is asked once per chunk here (the tests' IMS cache TTL is 0).
    ims_calls = value(after, "oms_ims_request_seconds_count") - value(
        before, "oms_ims_request_seconds_count"
    )
    assert ims_calls == 3
    assert value(after, "oms_ims_request_seconds_sum") > 0
    assert ("oms_kafka_delivery_failures_total", frozenset()) in after
    assert value(after, "oms_mongo_up") == 1
    assert (
        value(after, "oms_uploads", status="completed")
        - value(before, "oms_uploads", status="completed")
    ) == 1
    for outcome, grown in [("valid", 5), ("invalid", 1), ("duplicate", 0)]:
        assert (
            value(after, "oms_rows_total", outcome=outcome)
            - value(before, "oms_rows_total", outcome=outcome)
        ) == grown, outcome


def test_every_upload_status_is_exposed_even_at_zero(metrics_api):
    samples = scrape(metrics_api)

    statuses = {dict(labels)["status"] for name, labels in samples if name == "oms_uploads"}
    assert statuses == {
        "queued",
        "splitting",
        "processing",
        "finalizing",
        "completed",
        "failed",
        "rejected",
        "cancelled",
    }
