"""The order finalizer on the real stack: exact outcomes from known stock, replays that
change nothing, a kill -9 mid-stream, several processes, IMS or PostgreSQL away for a
while."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from confluent_kafka.admin import AdminClient

from oms.orders import counts
from oms.orders.finalizer import group_id
from oms.orders.store import orders
from oms.uploads import repository as repo
from tests.namespaces import changed
from tests.orders.support import (
    available,
    finalizers,
    set_available,
    snapshot,
    statuses,
    stock,
    wait_no_lag,
    wait_until_counted,
    wait_until_final,
)
from tests.pipeline.helpers import read_topic, upload_bytes, wait_for_upload
from tests.pipeline.rows import HUBS, SKUS, to_csv, valid_row
from tests.servers import free_port, gunicorn

pytestmark = pytest.mark.integration


def _rows(prefix: str, pairs: list[tuple[tuple[str, str], int, int]]) -> list[dict]:
    """``count`` rows of ``quantity`` for each (pair, count, quantity)."""
    rows = []
    for (sku, hub_id), count, quantity in pairs:
        for _ in range(count):
            n = len(rows)
            rows.append(
                valid_row(
                    n,
                    prefix=prefix,
                    sku=sku,
                    hub_id=hub_id,
                    quantity=str(quantity),
                    unit_price="10.00",
                    total_amount=f"{quantity * 10}.00",
                )
            )
    return rows


def _members(settings) -> list:
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap, "log_level": 0})
    group = next(iter(admin.describe_consumer_groups([group_id(settings)]).values()))
    return group.result(timeout=10).members


def _wait_for_members(settings, count: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        members = _members(settings)
        if len(members) == count and all(m.assignment.topic_partitions for m in members):
            return
        time.sleep(0.5)
    raise AssertionError(f"the consumer group did not reach {count} assigned members")


def _ingest(api, name: str, rows: list[dict]) -> str:
    accepted = upload_bytes(api, name, to_csv(rows), chunk_rows=500)
    upload = wait_for_upload(api, accepted["upload_id"])
    assert upload["status"] == "completed" and upload["counts"]["valid"] == len(rows), upload
    return upload["upload_id"]


def _updated_events(settings, upload_id: str, expect: int) -> dict[str, set[str]]:
    messages = read_topic(
        settings.kafka_bootstrap, settings.topic("order.updated"), expect=expect, idle_s=3
    )
    by_order: dict[str, set[str]] = {}
    for m in messages:
        if m["value"]["upload_id"] == upload_id:
            by_order.setdefault(m["key"], set()).add(m["value"]["event_id"])
    return by_order


PAIR_A, PAIR_B = (SKUS[0], HUBS[0]), (SKUS[1], HUBS[1])


@pytest.fixture(scope="module")
def finalized(api, pipeline, settings):
    """One upload finalized from known stock: 5 units of A for 8 orders of 1, 4 units of
    B for 3 orders of 2."""
    set_available(settings.ims_url, *PAIR_A, 5)
    set_available(settings.ims_url, *PAIR_B, 4)
    rows = _rows("FIN", [(PAIR_A, 8, 1), (PAIR_B, 3, 2)])
    upload_id = _ingest(api, "finalize.csv", rows)
    with finalizers(settings):
        final = wait_until_final(upload_id, len(rows))
    return {"upload_id": upload_id, "rows": rows, "statuses": final}


def test_every_order_is_confirmed_or_backordered_as_the_stock_allows(api, settings, finalized):
    upload_id = finalized["upload_id"]
    by_pair: dict[tuple[str, str], Counter[str]] = {}
    for order in orders().find({"upload_id": upload_id}):
        key = (order["item"]["sku"], order["hub_id"])
        by_pair.setdefault(key, Counter())[order["status"]] += 1
        assert [h.get("to") for h in order["status_history"]][1:] == [order["status"]]
        if order["status"] == "backordered":
            assert "not enough stock" in order["status_history"][1]["reason"]

    assert by_pair[PAIR_A] == Counter(confirmed=5, backordered=3)
    assert by_pair[PAIR_B] == Counter(confirmed=2, backordered=1)
    assert available(settings.ims_url, *PAIR_A) == 0
    assert available(settings.ims_url, *PAIR_B) == 0
    shown = api.get(f"/uploads/{upload_id}").get_json()["order_status"]
    assert shown == {"on_hold": 0, "confirmed": 7, "backordered": 4, "cancelled": 0, "fulfilled": 0}
    assert counts.for_upload(repo.get_upload(upload_id)) == shown


def test_each_finalization_is_announced_once_with_one_event_id(settings, finalized):
    by_order = _updated_events(settings, finalized["upload_id"], len(finalized["rows"]))

    assert set(by_order) == {row["order_id"] for row in finalized["rows"]}
    assert all(len(ids) == 1 for ids in by_order.values())


def test_replaying_the_whole_topic_changes_no_order_and_no_stock(settings, finalized):
    upload_id = finalized["upload_id"]
    before = snapshot(upload_id)
    stock_before = [stock(settings.ims_url, *pair) for pair in (PAIR_A, PAIR_B)]
    shown_before = counts.for_upload(repo.get_upload(upload_id))
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap, "log_level": 0})
    for future in admin.delete_consumer_groups([group_id(settings)]).values():
        future.result(timeout=30)  # the group starts again from the earliest offsets

    with finalizers(settings) as [finalizer]:
        _wait_for_log(finalizer.log, "finalized a batch")
        wait_no_lag(settings)

    assert snapshot(upload_id) == before
    assert [stock(settings.ims_url, *pair) for pair in (PAIR_A, PAIR_B)] == stock_before
    assert counts.for_upload(repo.get_upload(upload_id)) == shown_before
    by_order = _updated_events(settings, upload_id, len(finalized["rows"]))
    assert all(len(ids) == 1 for ids in by_order.values())  # re-sent, never new


def _wait_for_log(path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in {path}")


PLENTY = [(SKUS[2], HUBS[2]), (SKUS[3], HUBS[3]), (SKUS[4], HUBS[4])]


def _plenty_upload(api, settings, prefix: str, per_pair: int) -> tuple[str, list[dict], list[int]]:
    """An ingested upload of ``per_pair`` orders of 1 unit for each PLENTY pair, stocked
    well beyond it; returns its id, its rows and each pair's reserved stock before it."""
    for pair in PLENTY:
        set_available(settings.ims_url, *pair, 10_000)
    before = [stock(settings.ims_url, *pair)["reserved"] for pair in PLENTY]
    rows = _rows(prefix, [(pair, per_pair, 1) for pair in PLENTY])
    return _ingest(api, f"{prefix.lower()}.csv", rows), rows, before


def _reserved_since(settings, before: list[int]) -> list[int]:
    after = [stock(settings.ims_url, *pair)["reserved"] for pair in PLENTY]
    return [a - b for a, b in zip(after, before, strict=True)]


def test_a_finalizer_killed_mid_stream_and_restarted_ends_the_same(api, pipeline, settings):
    upload_id, rows, before = _plenty_upload(api, settings, "KILL", 1000)

    with changed(settings, finalizer_batch=50) as small, finalizers(small) as [finalizer]:
        finalizer.wait_for_batches(6)  # of 60
        finalizer.kill()
    midway = statuses(upload_id)
    assert 0 < midway["confirmed"] < len(rows), midway
    with finalizers(settings):
        final = wait_until_final(upload_id, len(rows))

    assert final == Counter(confirmed=len(rows))
    assert all(length == 2 for _, _, length in snapshot(upload_id).values())
    assert _reserved_since(settings, before) == [1000, 1000, 1000]
    assert wait_until_counted(upload_id, len(rows))["confirmed"] == len(rows)
    by_order = _updated_events(settings, upload_id, len(rows))
    assert len(by_order) == len(rows) and all(len(ids) == 1 for ids in by_order.values())


def test_a_finalizer_killed_between_counting_and_copying_leaves_the_counts_exact(
    api, pipeline, settings, tmp_path
):
    """Killed after a batch's checkpoint moved and before the upload got the count: the
    replay counts nothing (the checkpoint is past it), so the finalizer that comes next
    copies the checkpoints' exact counts when it is given the partitions."""
    for pair in PLENTY:
        set_available(settings.ims_url, *pair, 10_000)
    rows = _rows("GAP", [(pair, 200, 1) for pair in PLENTY])
    upload_id = _ingest(api, "gap.csv", rows)
    marker = tmp_path / "crashed"
    crashing = changed(
        settings,
        finalizer_batch=50,
        crash_at="finalizer.after_checkpoint",
        crash_marker=str(marker),
    )

    with crashing as crash_once:
        with finalizers(crash_once) as [first]:
            assert first.process is not None
            assert first.process.wait(timeout=120) == -9  # it killed itself
        assert marker.exists()
        short = counts.for_upload(repo.get_upload(upload_id))["confirmed"]
        exact = counts.finalized_by_upload()[upload_id]["confirmed"]
        with finalizers(crash_once):  # the marker exists: this one runs through
            final = wait_until_final(upload_id, len(rows))
            shown = wait_until_counted(upload_id, len(rows))

    assert short < exact  # the crash left the upload's count short of its checkpoint's
    assert final == Counter(confirmed=len(rows))
    assert shown == {**dict.fromkeys(counts.STATUSES, 0), "confirmed": len(rows)}
    assert counts.finalized_by_upload()[upload_id] == {"confirmed": 600, "on_hold": -600}


def test_two_finalizers_share_the_partitions(api, pipeline, settings):
    for pair in PLENTY:
        set_available(settings.ims_url, *pair, 10_000)
    rows = _rows("PAIR", [(pair, 400, 1) for pair in PLENTY])

    with finalizers(settings, count=2) as started:
        _wait_for_members(settings, 2)  # both assigned before any event, so both get work
        upload_id = _ingest(api, "two.csv", rows)
        final = wait_until_final(upload_id, len(rows))
        members = _members(settings)
        logs = [f.log.read_text() for f in started]

    assigned = [{tp.partition for tp in m.assignment.topic_partitions} for m in members]
    assert len(members) == 2 and not assigned[0] & assigned[1]
    assert assigned[0] | assigned[1] == set(range(settings.kafka_partitions))
    assert final == Counter(confirmed=len(rows))
    assert all("finalized a batch" in log for log in logs)


def test_an_ims_outage_mid_stream_skips_no_order(api, pipeline, settings, tmp_path):
    """The finalizer gets its own IMS (same database), stopped for a while mid-stream."""
    from tests.conftest import IMS_ENV

    for pair in PLENTY:
        set_available(settings.ims_url, *pair, 10_000)
    rows = _rows("OUT", [(pair, 600, 1) for pair in PLENTY])
    upload_id = _ingest(api, "outage.csv", rows)
    port = free_port()
    own = changed(settings, ims_url=f"http://127.0.0.1:{port}", finalizer_batch=50)

    with own as moved:
        ims = gunicorn("ims.wsgi:app", tmp_path / "ims-1.log", port=port, env=IMS_ENV)
        ims.__enter__()
        with finalizers(moved) as [finalizer]:
            finalizer.wait_for_batches(2)  # of 36
            ims.__exit__(None, None, None)  # IMS goes away
            paused = statuses(upload_id)
            time.sleep(5)
            assert statuses(upload_id) == paused  # nothing moves, nothing is backordered
            assert paused["on_hold"] > 0 and paused["backordered"] == 0
            with gunicorn("ims.wsgi:app", tmp_path / "ims-2.log", port=port, env=IMS_ENV):
                final = wait_until_final(upload_id, len(rows))

    assert final == Counter(confirmed=len(rows))


def test_postgresql_stopped_mid_stream_skips_no_order_and_takes_stock_once(api, pipeline, settings):
    """The stack's PostgreSQL (the order store under FerretDB, and IMS's stock) stopped
    under a running finalizer: it waits without committing and goes on when it is back."""
    import signal

    from devstack import processes
    from devstack.cli import BY_NAME

    upload_id, rows, before = _plenty_upload(api, settings, "PGD", 600)

    with changed(settings, finalizer_batch=50) as small, finalizers(small) as [finalizer]:
        finalizer.wait_for_batches(2)  # of 36
        processes.stop("postgres", stop_signal=signal.SIGINT)
        try:
            time.sleep(5)
            assert finalizer.process is not None and finalizer.process.poll() is None
        finally:
            processes.start(BY_NAME["postgres"])
        final = wait_until_final(upload_id, len(rows))
        shown = wait_until_counted(upload_id, len(rows))

    assert final == Counter(confirmed=len(rows))
    assert shown["confirmed"] == len(rows) and shown["on_hold"] == 0
    assert all(length == 2 for _, _, length in snapshot(upload_id).values())
    assert _reserved_since(settings, before) == [600, 600, 600]
    by_order = _updated_events(settings, upload_id, len(rows))
    assert len(by_order) == len(rows) and all(len(ids) == 1 for ids in by_order.values())
    assert "retrying the batch" in finalizer.log.read_text()  # it met the outage


def _lag_metric(api) -> int:
    from prometheus_client.parser import text_string_to_metric_families

    text = api.get("/metrics").get_data(as_text=True)
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "oms_finalizer_lag"
        )
    )


def test_the_finalizers_lag_is_in_metrics_and_per_upload(api, pipeline, settings):
    set_available(settings.ims_url, *PLENTY[0], 10_000)
    rows = _rows("LAG", [(PLENTY[0], 20, 1)])
    upload_id = _ingest(api, "lag.csv", rows)
    wait_no_lag_before = _lag_metric(api)

    waiting = api.get(f"/uploads/{upload_id}").get_json()["order_status"]
    with finalizers(settings):
        wait_until_final(upload_id, len(rows))
        wait_no_lag(settings)

    assert wait_no_lag_before == 20  # every earlier event was committed
    assert waiting["on_hold"] == 20
    assert _lag_metric(api) == 0
    assert api.get(f"/uploads/{upload_id}").get_json()["order_status"]["confirmed"] == 20
