"""Eight OS processes racing through a real gunicorn IMS (2 workers, each with its own
pool) on the same stock: never oversold, never taken or given back twice, and the
reservations table always adds up to the stock's ``reserved``."""

from __future__ import annotations

import http.client
import multiprocessing
import random
from collections import Counter, defaultdict
from urllib.parse import urlsplit

import pytest

from devstack import postgres
from tests.conftest import RUN_ID
from tests.ims.support import (
    HUB_1,
    HUB_2,
    KEY,
    SERVICE_KEY,
    SKU_A,
    SKU_B,
    count,
    held_quantity,
    reservation,
    send_all,
    stock_of,
)
from tests.servers import ROOT, gunicorn

PROCESSES = 8


@pytest.fixture(scope="module")
def ims_url(ims_database):
    log = ROOT / ".stack" / "logs" / f"test-ims-concurrency-{RUN_ID}.log"
    env = {
        "IMS_POSTGRES_URL": postgres.conninfo(ims_database),
        "IMS_SERVICE_KEYS": SERVICE_KEY,
        "IMS_SEED_ON_START": "false",
        "IMS_FAULTS": "on",
        "IMS_POOL_SIZE": "4",
    }
    with gunicorn("ims.wsgi:app", log, workers=2, env=env) as (url, _):
        yield url


def run_processes(url, per_process):
    """Run each list of (method, path, body) in its own process, all starting together;
    the answers [(status, body), ...] of each process, in process order."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(per_process))
    results = ctx.Queue()
    processes = [
        ctx.Process(target=send_all, args=(url, requests_, barrier, results, worker))
        for worker, requests_ in enumerate(per_process)
    ]
    for process in processes:
        process.start()
    collected = dict(results.get(timeout=300) for _ in processes)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return [collected[worker] for worker in range(len(processes))]


def post(body):
    return ("POST", "/v1/reservations", body)


def assert_books_balance(db, lines):
    for sku, hub_id in lines:
        on_hand, reserved = stock_of(db, sku, hub_id)
        assert 0 <= reserved <= on_hand
        assert held_quantity(db, sku, hub_id) == reserved


@pytest.mark.parametrize("quantity, winners", [(2, 5), (3, 3)])
def test_eight_processes_racing_for_one_line_never_oversell(db, ims_url, quantity, winners):
    per_process = [
        [post(reservation(f"RACE-{p}-{i}", SKU_B, HUB_1, quantity)) for i in range(5)]
        for p in range(PROCESSES)
    ]  # 40 orders asking 2-3 each of a stock of 10

    answers = [a for process in run_processes(ims_url, per_process) for a in process]

    assert {status for status, _ in answers} <= {200, 201}
    taken = [body for status, body in answers if status == 201]
    assert all(body["state"] == "reserved" for body in taken)
    assert all(body["state"] == "rejected" for status, body in answers if status == 200)
    assert len(taken) == winners
    assert sorted(body["available"] for body in taken) == [
        10 - quantity * n for n in range(winners, 0, -1)
    ]
    assert stock_of(db, SKU_B, HUB_1) == (10, len(taken) * quantity)
    assert count(db, "reservations") == len(taken)
    assert_books_balance(db, [(SKU_B, HUB_1)])


def test_copies_of_one_order_from_eight_processes_take_stock_once(db, ims_url):
    body = reservation("DUP-1", SKU_A, HUB_1, 2)

    answers = [
        a for process in run_processes(ims_url, [[post(body)] * 3] * PROCESSES) for a in process
    ]

    assert Counter(status for status, _ in answers) == {201: 1, 200: 3 * PROCESSES - 1}
    assert all(answer == answers[0][1] for _, answer in answers)
    assert answers[0][1]["reserved"] is True
    assert stock_of(db, SKU_A, HUB_1) == (5, 2)
    assert count(db, "reservations") == 1


LINES = [(SKU_A, HUB_1), (SKU_B, HUB_1), (SKU_B, HUB_2)]  # stock 5, 10, 3


def test_overlapping_batches_from_eight_processes(db, ims_url):
    rng = random.Random(20240611)
    orders = {}
    for i in range(40):  # 40 orders of 1-2 units on three lines holding 18 in all
        sku, hub_id = LINES[i % 3]
        orders[f"BAT-{i}"] = reservation(f"BAT-{i}", sku, hub_id, 1 + i % 2)
    per_process = []
    for _ in range(PROCESSES):
        batches = []
        for _ in range(3):
            chosen = rng.sample(sorted(orders), 15)  # shuffled: order differs per batch
            batches.append(
                ("POST", "/v1/reservations/batch", {"items": [orders[o] for o in chosen]})
            )
        per_process.append(batches)

    items = [
        item
        for process in run_processes(ims_url, per_process)
        for status, body in process
        if status == 200
        for item in body["items"]
    ]

    assert len(items) == PROCESSES * 3 * 15  # every batch answered 200
    assert {item["status"] for item in items} <= {200, 201}
    created = Counter(item["order_id"] for item in items if item["status"] == 201)
    assert set(created.values()) == {1}  # each order reserved by one call at most
    stored = dict(db.execute("SELECT order_id, available FROM reservations").fetchall())
    assert set(stored) == set(created)
    for item in items:
        assert item["state"] == ("reserved" if item["order_id"] in stored else "rejected")
        if item["state"] == "reserved":
            assert item["available"] == stored[item["order_id"]]  # the first answer
    taken = defaultdict(int)
    for order_id in stored:
        taken[orders[order_id]["sku"], orders[order_id]["hub_id"]] += orders[order_id]["quantity"]
    for sku, hub_id in LINES:
        assert stock_of(db, sku, hub_id)[1] == taken[sku, hub_id]
    assert_books_balance(db, LINES)


def test_concurrent_releases_give_stock_back_once(db, ims_url):
    setup = run_processes(
        ims_url, [[post(reservation(f"REL-{i}", SKU_B, HUB_1, 2)) for i in range(5)]]
    )
    assert [status for status, _ in setup[0]] == [201] * 5
    assert stock_of(db, SKU_B, HUB_1) == (10, 10)
    rng = random.Random(7)
    per_process = [
        [("DELETE", f"/v1/reservations/REL-{i}", None) for i in rng.sample(range(5), 5)]
        for _ in range(PROCESSES)
    ]

    answers = [a for process in run_processes(ims_url, per_process) for a in process]

    assert {status for status, _ in answers} == {200}
    released = Counter(body["order_id"] for _, body in answers if body["released"])
    assert released == {f"REL-{i}": 1 for i in range(5)}
    assert all(body["state"] == "released" for _, body in answers)
    assert stock_of(db, SKU_B, HUB_1) == (10, 0)
    assert_books_balance(db, [(SKU_B, HUB_1)])


def test_reserves_and_releases_interleaved_keep_the_books_balanced(db, ims_url):
    run_processes(ims_url, [[post(reservation(f"OLD-{i}", SKU_A, HUB_1, 1)) for i in range(3)]])
    reservers = [
        [post(reservation(f"NEW-{p}-{i}", SKU_A, HUB_1, 1)) for i in range(3)]
        for p in range(PROCESSES - 2)
    ]
    releasers = [[("DELETE", f"/v1/reservations/OLD-{i}", None) for i in range(3)]] * 2

    answers = run_processes(ims_url, reservers + releasers)

    new = sum(body["reserved"] for process in answers[:-2] for _, body in process)
    gave_back = sum(body["released"] for process in answers[-2:] for _, body in process)
    assert gave_back == 3
    assert 2 <= new <= 5  # 2 were free at the start, 3 more came back during the race
    assert stock_of(db, SKU_A, HUB_1) == (5, new)
    assert_books_balance(db, [(SKU_A, HUB_1)])


def test_injected_fault_count_is_exact_across_workers(db, ims_url):
    import requests

    requests.put(
        f"{ims_url}/v1/faults/validate", json={"status": 500, "count": 5}, headers=KEY, timeout=10
    ).raise_for_status()
    call = ("POST", "/v1/validate", {"items": [{"sku": SKU_A, "hub_id": HUB_1}]})

    answers = [a for process in run_processes(ims_url, [[call] * 3] * PROCESSES) for a in process]

    assert Counter(status for status, _ in answers) == {500: 5, 200: 3 * PROCESSES - 5}
    requests.delete(f"{ims_url}/v1/faults/validate", headers=KEY, timeout=10)


@pytest.mark.parametrize("raw_key", ["ключ".encode(), b"\xff\xfe", "é".encode("latin-1")])
def test_a_non_ascii_key_over_http_is_403(db, ims_url, raw_key):
    address = urlsplit(ims_url)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    body = b'{"order_id": "ORD-1", "sku": "SKU-90001", "hub_id": "HUB-TST-01", "quantity": 1}'
    try:
        conn.putrequest("POST", "/v1/reservations")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        conn.putheader("X-Service-Key", raw_key)
        conn.endheaders(body)
        response = conn.getresponse()
        status = response.status
        response.read()
    finally:
        conn.close()

    assert status == 403
    assert count(db, "reservations") == 0
