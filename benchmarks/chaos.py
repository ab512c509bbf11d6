"""`make chaos`: uploads under faults, each checked for the end state of a clean run.

    python benchmarks/chaos.py [--rows 100000] [--only NAME ...] [--json OUT]

Each scenario runs in a namespace of its own (bucket, queues, database, topics) on the
running local stack (`make stack`), with its own worker, IMS (fault injection on) and
in-process API: it uploads a generated file (seeded, ~2 % invalid rows), injects its
fault while the upload runs, waits for the upload to end, then checks: orders stored =
valid rows exactly, each once; every stored order has its order.created delivered, one
distinct event_id per order; the invalid file has every invalid row; status completed.
It reports the time from the fault to completion. `tests/pipeline/test_chaos.py` runs
small versions of the same scenarios in the suite.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack import postgres, processes  # noqa: E402
from oms.config import Settings, environ, load_settings  # noqa: E402
from tests import namespaces  # noqa: E402
from tests.pipeline.helpers import read_topic  # noqa: E402
from tests.servers import Moto, free_port, gunicorn, stop  # noqa: E402

TERMINAL = {"completed", "failed", "rejected"}


@dataclass
class Stage:
    """The running pieces of one scenario."""

    settings: Settings
    ims_url: str
    ims_env: dict[str, str]
    worker: subprocess.Popen | None = None
    beat: subprocess.Popen | None = None
    moto: Moto | None = None
    logs: Path = ROOT / ".stack" / "logs"
    notes: list[str] = field(default_factory=list)

    def start_worker(self) -> None:
        """The worker, and beat beside it (the reaper), as docker-compose runs them."""
        name = self.settings.sqs_queue_prefix
        env = {**os.environ, **environ(self.settings)}
        common = [sys.executable, "-m", "celery", "-A", "workers.app"]
        self.worker = subprocess.Popen(
            [
                *common,
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"chaos-{uuid.uuid4().hex[:6]}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=(self.logs / f"chaos-worker-{name}.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if self.beat is None or self.beat.poll() is not None:
            schedule = Path(tempfile.mkdtemp(prefix="chaos-beat-")) / "schedule"
            self.beat = subprocess.Popen(
                [*common, "beat", "--loglevel", "INFO", "--schedule", str(schedule)],
                cwd=ROOT,
                env=env,
                stdout=(self.logs / f"chaos-beat-{name}.log").open("ab"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill_worker(self) -> None:
        """kill -9 of the whole worker: main process and pool children."""
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)

    def pool_children(self) -> list[int]:
        assert self.worker is not None
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.worker.pid:
                children.append(int(stat.parent.name))
        return children

    def stop(self) -> None:
        for process in (self.worker, self.beat):
            if process is not None and process.poll() is None:
                stop(process)


@contextmanager
def stage(base: Settings, rows: int, **changes: Any) -> Iterator[Stage]:
    """A namespace with its own IMS (faults on) and worker, for one scenario."""
    ims_port = free_port()
    database = f"ims_chaos_{uuid.uuid4().hex[:8]}"
    key = f"chaos-{uuid.uuid4().hex[:8]}"
    ims_env = {
        "IMS_POSTGRES_URL": postgres.url(database),
        "PGPASSWORD": postgres.password(),
        "IMS_SERVICE_KEYS": key,
        "IMS_FAULTS": "on",
    }
    postgres.ensure_database(database)
    chaos_base = dataclasses.replace(
        base,
        **changes,
        ims_url=f"http://127.0.0.1:{ims_port}",
        ims_service_key=key,
        ims_cache_ttl_s=0.0,
    )
    logs = ROOT / ".stack" / "logs"
    try:
        with (
            namespaces.namespace(chaos_base) as settings,
            gunicorn(
                "ims.wsgi:app", logs / f"chaos-ims-{database}.log", port=ims_port, env=ims_env
            ),
        ):
            here = Stage(settings, f"http://127.0.0.1:{ims_port}", ims_env)
            here.start_worker()
            try:
                yield here
            finally:
                here.stop()
    finally:
        from tests.ims.support import drop_database

        drop_database(database)


def generate(rows: int, directory: Path) -> tuple[Path, dict[str, Any]]:
    path = directory / f"chaos-{rows}.csv"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "generate_orders.py"),
            str(path),
            "--rows",
            str(rows),
            "--invalid-ratio",
            "0.02",
            "--crlf",
            "--prefix",
            f"CH{uuid.uuid4().hex[:6]}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return path, json.loads(path.with_name(path.name + ".expected.json").read_text())


def upload(client: Any, path: Path, chunk_rows: int) -> str:
    with path.open("rb") as handle:
        response = client.post(
            "/upload",
            # every scenario uploads the same generated file: each must run
            query_string={"chunk_rows": chunk_rows, "force": "true"},
            data={"file": (handle, path.name, "text/csv")},
            content_type="multipart/form-data",
        )
    assert response.status_code == 202, response.get_json()
    return response.get_json()["upload_id"]


def status(client: Any, upload_id: str) -> dict[str, Any]:
    return client.get(f"/uploads/{upload_id}").get_json()


def wait(client: Any, upload_id: str, until: Callable[[dict], bool], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        now = status(client, upload_id)
        if until(now):
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"upload {upload_id} is {now['status']} after {timeout}s")
        time.sleep(0.2)


def check(client: Any, settings: Settings, upload_id: str, expected: dict) -> dict[str, Any]:
    """The end state a clean run gives, or what differs."""
    from oms.orders.store import orders

    final = status(client, upload_id)
    stored = {
        o["order_id"]: o["_id"] for o in orders().find({"upload_id": upload_id}, {"order_id": 1})
    }
    events = read_topic(
        settings.kafka_bootstrap,
        settings.topic("order.created"),
        expect=len(stored),
        idle_s=5,
        limit_s=300,
    )
    mine = [e for e in events if e["value"]["upload_id"] == upload_id]
    ids = {e["value"]["event_id"] for e in mine}
    invalid = 0
    if final.get("invalid_file_url"):
        text = client.get(final["invalid_file_url"]).get_data(as_text=True)
        invalid = len(list(csv.DictReader(io.StringIO(text, newline=""))))
    return {
        "status": final["status"],
        "orders_expected": expected["valid"],
        "orders_stored": len(stored),
        "orders_duplicated": len(stored) - len(set(stored.values())),
        "events_total": len(mine),
        "events_distinct": len(ids),
        "orders_without_event": len(set(stored) - {e["key"] for e in mine}),
        "invalid_rows": invalid,
        "invalid_expected": expected["invalid"],
        "ok": (
            final["status"] == "completed"
            and len(stored) == expected["valid"]
            and set(stored) <= {e["key"] for e in mine}
            and len(ids) == len(stored)
            and invalid == expected["invalid"]
        ),
    }


# --- the scenarios -------------------------------------------------------------------------


@dataclass
class Scenario:
    """``inject`` waits for its moment, injects the fault and returns when it struck
    (time.monotonic()); ``changes`` are the settings of the stage it needs."""

    inject: Callable[[Stage, Any, str], float]
    changes: dict[str, Any] = field(default_factory=dict)
    private_moto: bool = False  # a moto of its own, so restarting it loses no one else's state
    expect_loss: bool = False  # the fault loses data: check what OMS says, not a clean end


def kill_worker_at(moment: Callable[[dict], bool], name: str) -> Scenario:
    def inject(here: Stage, client: Any, upload_id: str) -> float:
        wait(client, upload_id, moment, timeout=600)
        here.kill_worker()
        killed = time.monotonic()
        here.notes.append(f"killed the whole worker when {name}")
        here.start_worker()
        return killed

    return Scenario(inject)


def crash_at(point: str, chunk: int | None = None, child: bool = False) -> Scenario:
    """The worker kills its whole process group itself at ``point`` (oms/crash_points.py):
    a moment no poll of the upload's status can hit. With ``child``, only the pool child
    that reached it dies; the main process forks another."""

    def inject(here: Stage, client: Any, upload_id: str) -> float:
        marker = Path(here.settings.crash_marker)
        deadline = time.monotonic() + 600
        while not marker.exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"the worker never reached {point}")
            time.sleep(0.05)
        killed = time.monotonic() - (time.time() - marker.stat().st_mtime)
        if not child:
            assert here.worker is not None
            here.worker.wait(timeout=30)
            here.start_worker()
        return killed

    where = f"{point}@{chunk}" if chunk is not None else point
    return Scenario(inject, {"crash_at": f"child:{where}" if child else where})


def kill_pool_at(moment: Callable[[dict], bool]) -> Scenario:
    """kill -9 of every pool child (the main process stays and forks new ones)."""

    def inject(here: Stage, client: Any, upload_id: str) -> float:
        wait(client, upload_id, moment, timeout=600)
        children = here.pool_children()
        assert children, "the worker has no pool children"
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        return time.monotonic()

    return Scenario(inject)


def stop_server(name: str, seconds: float, when: Callable[[dict], bool]) -> Scenario:
    def inject(here: Stage, client: Any, upload_id: str) -> float:
        from devstack.cli import BY_NAME

        wait(client, upload_id, when, timeout=600)
        service = BY_NAME[name]
        processes.stop(name, stop_signal=service.stop_signal)
        stopped = time.monotonic()
        time.sleep(seconds)
        processes.start(service)
        return stopped

    return Scenario(inject)


def ims_fault(status_code: int, seconds: float, delay_s: float = 0) -> Scenario:
    def inject(here: Stage, client: Any, upload_id: str) -> float:
        key = {"X-Service-Key": here.settings.ims_service_key}
        wait(client, upload_id, chunks_done(1), timeout=600)
        fault = {
            "status": status_code,
            "count": 10_000,
            **({"delay_s": delay_s} if delay_s else {}),
        }
        requests.put(
            f"{here.ims_url}/v1/faults/validate", json=fault, headers=key, timeout=10
        ).raise_for_status()
        began = time.monotonic()
        time.sleep(seconds)
        requests.delete(
            f"{here.ims_url}/v1/faults/validate", headers=key, timeout=10
        ).raise_for_status()
        return began

    return Scenario(inject)


def restart_moto(when: Callable[[dict], bool]) -> Scenario:
    """moto killed and started again: every bucket, object and queue is gone."""

    def inject(here: Stage, client: Any, upload_id: str) -> float:
        assert here.moto is not None
        wait(client, upload_id, when, timeout=600)
        here.moto.kill()
        restarted = time.monotonic()
        here.moto.start()
        return restarted

    # the chunks lost with the queues are re-driven, then failed, by the reaper: soon
    changes = {"stall_after_s": 30, "max_redrives": 1}
    return Scenario(inject, changes, private_moto=True, expect_loss=True)


def chunks_done(n: int) -> Callable[[dict], bool]:
    return lambda u: u["chunks"]["done"] >= n


def status_is(*wanted: str) -> Callable[[dict], bool]:
    return lambda u: u["status"] in wanted


def scenarios() -> dict[str, Scenario]:
    """The long run: ten moments to lose the worker host, a pool child lost, and each
    dependency away for 30 s."""
    return {
        "worker killed after the split recorded its chunks": crash_at("split.after_save"),
        "worker killed before the first chunk was sent": crash_at("split.before_start"),
        "worker killed mid-chunk, before its insert (chunk 2)": crash_at("chunk.before_insert", 2),
        "worker killed between insert and publish (chunk 5)": crash_at("chunk.after_insert", 5),
        "worker killed after publish, before the chunk was done (chunk 8)": crash_at(
            "chunk.after_publish", 8
        ),
        "worker killed between insert and publish (last chunk)": crash_at("chunk.after_insert", 19),
        "worker killed after 6 chunks": kill_worker_at(chunks_done(6), "6 chunks"),
        "worker killed after 12 chunks": kill_worker_at(chunks_done(12), "12 chunks"),
        "worker killed after 16 chunks": kill_worker_at(chunks_done(16), "16 chunks"),
        "worker killed while finalizing": crash_at("finalize.after_join"),
        "pool children killed after 4 chunks": kill_pool_at(chunks_done(4)),
        "pool child killed mid-chunk, before its insert (chunk 3)": crash_at(
            "chunk.before_insert", 3, child=True
        ),
        "pool child killed between insert and publish (chunk 9)": crash_at(
            "chunk.after_insert", 9, child=True
        ),
        "pool child killed while finalizing": crash_at("finalize.after_join", child=True),
        "PostgreSQL (the store) stopped 30 s": stop_server("postgres", 30, chunks_done(2)),
        "Kafka stopped 30 s": stop_server("kafka", 30, chunks_done(2)),
        "IMS answering 500 for 30 s": ims_fault(500, 30),
        "IMS timing out for 30 s": ims_fault(500, 30, delay_s=15),
        "moto (S3 and SQS) restarted, its state lost": restart_moto(chunks_done(4)),
    }


def run(name: str, scenario: Scenario, base: Settings, rows: int, tmp: Path, **changes: Any):
    """``scenario`` (called ``name``) on a generated file of ``rows`` rows in 20 chunks."""
    from oms.api.app import create_app

    path, expected = generate(rows, tmp)
    chunk_rows = max(1, rows // 20)
    marker = tmp / f"crashed-{uuid.uuid4().hex[:8]}"
    changes = {"crash_marker": str(marker), **scenario.changes, **changes}
    moto = None
    if scenario.private_moto:
        moto = Moto(ROOT / ".stack" / "logs" / f"chaos-moto-{uuid.uuid4().hex[:6]}.log")
        moto.start()
        changes["aws_endpoint_url"] = moto.url
    try:
        with stage(base, rows, min_chunk_rows=1, **changes) as here:
            here.moto = moto
            client = create_app(here.settings).test_client()
            began = time.monotonic()
            upload_id = upload(client, path, chunk_rows)
            fault_at = scenario.inject(here, client, upload_id)
            ended_as = wait(client, upload_id, status_is(*TERMINAL), timeout=1800)
            ended = time.monotonic()
            if scenario.expect_loss:
                result = after_loss(
                    client, here.settings, upload_id, expected, ended_as, path, chunk_rows
                )
            else:
                result = check(client, here.settings, upload_id, expected)
    finally:
        if moto is not None:
            moto.kill()
    result.update(
        scenario=name,
        rows=rows,
        seconds_total=round(ended - began, 1),
        seconds_from_fault_to_end=round(ended - fault_at, 1),
    )
    return result


def after_loss(
    client: Any,
    settings: Settings,
    upload_id: str,
    expected: dict,
    ended_as: dict,
    path: Path,
    chunk_rows: int,
) -> dict[str, Any]:
    """The broker's and the file store's state were lost. The upload must end failed,
    saying why; an operator's retry must either recover it or answer why not; what was
    stored must be whole (each order once, each with its event); and uploading the file
    again must store exactly the orders that were missing (the others are duplicates)."""
    from oms.stores import s3

    retried = client.post(f"/uploads/{upload_id}/retry")
    answer = retried.get_json()
    if retried.status_code == 202:
        answer = wait(client, upload_id, status_is(*TERMINAL), timeout=1800)
    first = check(client, settings, upload_id, expected)
    result = {
        "ended_as": ended_as["status"],
        "reason": ended_as.get("error"),
        "retry_status": retried.status_code,
        "retry_answer": answer.get("message") or answer.get("status"),
        "orders_stored_before_loss": first["orders_stored"],
        "first": first,
    }
    with path.open("rb") as handle:  # what the API says while its bucket is gone
        refused = client.post(
            "/upload",
            data={"file": (handle, path.name, "text/csv")},
            content_type="multipart/form-data",
        )
    result["upload_while_bucket_lost"] = [refused.status_code, refused.get_json().get("message")]
    s3.ensure_bucket()  # what restarting the API and the worker does (they make it at start)
    again = upload(client, path, chunk_rows)
    wait(client, again, status_is(*TERMINAL), timeout=1800)
    second = check(client, settings, again, expected)
    both = first["orders_stored"] + second["orders_stored"]
    result.update(
        second=second,
        status=second["status"],
        orders_expected=expected["valid"],
        orders_stored=both,
        orders_duplicated=first["orders_duplicated"] + second["orders_duplicated"],
        events_distinct=first["events_distinct"] + second["events_distinct"],
        events_total=first["events_total"] + second["events_total"],
        orders_without_event=first["orders_without_event"] + second["orders_without_event"],
    )
    result["ok"] = (
        ended_as["status"] == "failed"
        and bool(ended_as.get("error"))
        and (retried.status_code == 409 or first["status"] == "completed")
        and second["status"] == "completed"
        and both == expected["valid"]
        and result["orders_duplicated"] == 0
        and result["orders_without_event"] == 0
        and result["events_distinct"] == both
        and second["invalid_rows"] == expected["invalid"] + first["orders_stored"]
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import tempfile

    base = load_settings({**os.environ, "OMS_LOG_LEVEL": "WARNING"})
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        chosen = scenarios()
        for name in args.only or list(chosen):
            result = run(name, chosen[name], base, args.rows, Path(tmp))
            print(json.dumps(result), flush=True)
            results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
