"""Flower, reading the workers' events over Redis, sees every task of an upload with its
state, also after Flower restarts (tasks themselves go through SQS)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import RUN_ID, child_env, worker_name
from tests.pipeline.helpers import upload_bytes, wait_for_upload
from tests.pipeline.rows import to_csv, valid_row
from tests.servers import ROOT, free_port

pytestmark = pytest.mark.integration


class Flower:
    """A real `celery flower` process on this session's app and events URL, behind a
    login (as devstack and docker-compose start it)."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self.events_url = settings.events_broker_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.login = ("oms", f"flower-test-{RUN_ID}")
        self.log = ROOT / ".stack" / "logs" / f"test-flower-{RUN_ID}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        # `-b` before `flower`: Celery options after it are ignored.
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers.app",
                "-b",
                self.events_url,
                "flower",
                "--address=127.0.0.1",
                f"--port={self.port}",
                "--enable_events=False",
            ],
            cwd=ROOT,
            env={**child_env(self.settings), "FLOWER_BASIC_AUTH": ":".join(self.login)},
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{self.url}/healthcheck", timeout=2).text == "OK":
                    break
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Flower did not start; see {self.log}")
            time.sleep(0.2)
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        """/healthcheck answers before the event receiver subscribes: wait until a ping
        task shows, so no event of the test is sent before Flower listens."""
        from workers.diagnostics import ping

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.wait_for(succeeded(ping.delay(0).id), timeout=5, fail=False):
                return
        pytest.fail(f"Flower saw no task within 30s; see {self.log}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def tasks(self) -> dict[str, dict]:
        response = requests.get(f"{self.url}/api/tasks", auth=self.login, timeout=5)
        response.raise_for_status()
        return response.json()

    def wait_for(self, condition, timeout: float = 60, fail: bool = True) -> dict | None:
        deadline = time.monotonic() + timeout
        tasks: dict = {}
        while time.monotonic() < deadline:
            tasks = self.tasks()
            if condition(tasks):
                return tasks
            time.sleep(0.3)
        if fail:
            raise AssertionError(f"Flower's tasks never met the condition: {tasks}")
        return None


def succeeded(task_id: str):
    return lambda tasks: task_id in tasks and tasks[task_id]["state"] == "SUCCESS"


@pytest.fixture(scope="module")
def flower(pipeline, settings):
    process = Flower(settings)
    process.start()
    yield process
    process.stop()


def upload_tasks(tasks: dict[str, dict], upload_id: str) -> dict[str, list[dict]]:
    """Flower's tasks of one upload, by task name (matched on the upload id in args)."""
    found: dict[str, list[dict]] = {}
    for task in tasks.values():
        if upload_id in (task.get("args") or ""):
            found.setdefault(task["name"], []).append(task)
    return found


def every_task_succeeded(upload_id: str, chunks: int):
    """One ingest task, one task per chunk and the finalization, each SUCCESS. Two chunks
    that end at the same moment may both send the finalization (oms/pipeline/schedule.py
    allows it; the second finds the upload closed), so one or two finalize tasks."""

    def condition(tasks: dict) -> bool:
        found = upload_tasks(tasks, upload_id)
        ingest = found.get("oms.ingest_upload", [])
        finalize = found.get("oms.finalize_upload", [])
        chunk_tasks = found.get("oms.process_chunk", [])
        return (
            len(ingest) == 1
            and len(finalize) in (1, 2)
            and len(chunk_tasks) == chunks
            and all(t["state"] == "SUCCESS" for t in ingest + finalize + chunk_tasks)
        )

    return condition


def process(api, rows: int, prefix: str) -> tuple[str, int]:
    accepted = upload_bytes(
        api,
        f"{prefix}.csv",
        to_csv([valid_row(n, prefix=prefix) for n in range(rows)]),
        chunk_rows=2,
    )
    upload = wait_for_upload(api, accepted["upload_id"])
    assert upload["status"] == "completed", upload
    return upload["upload_id"], upload["chunks"]["total"]


def test_flower_shows_each_chunk_task_of_an_upload_as_succeeded(api, flower, settings):
    upload_id, chunks = process(api, rows=7, prefix="FLW")
    assert chunks == 4

    tasks = flower.wait_for(every_task_succeeded(upload_id, chunks))

    found = upload_tasks(tasks, upload_id)
    indexes = sorted(ast.literal_eval(t["args"])[1] for t in found["oms.process_chunk"])
    assert indexes == [0, 1, 2, 3]  # one task per chunk
    for task in found["oms.process_chunk"]:
        assert task["worker"] == f"{worker_name(settings)}@{os.uname().nodename}"
        assert task["received"] and task["started"] and task["succeeded"]
        assert task["sent"]  # task-sent too: the chord's header is sent by a worker process
        assert task["runtime"] > 0
        assert ast.literal_eval(task["result"])["rows"] in (1, 2)


def test_events_keep_reaching_flower_after_it_restarts(api, flower):
    first_id, first_chunks = process(api, rows=3, prefix="FLR1")
    flower.wait_for(every_task_succeeded(first_id, first_chunks))

    flower.stop()
    flower.start()  # no persistent state: it knows only what happens from now on
    second_id, second_chunks = process(api, rows=5, prefix="FLR2")

    tasks = flower.wait_for(every_task_succeeded(second_id, second_chunks))
    assert second_chunks == 3
    assert not upload_tasks(tasks, first_id)


def test_flower_needs_its_login_and_allows_no_other_origin(flower):
    """Flower shows every task's arguments and results and accepts control POSTs: without
    the login nothing of it answers, and no response invites another origin to read it."""
    evil = {"Origin": "http://evil.example"}
    for path in ("/", "/tasks", "/api/tasks", "/api/workers"):
        refused = requests.get(f"{flower.url}{path}", headers=evil, timeout=5)
        assert refused.status_code == 401, path
        assert "Access-Control-Allow-Origin" not in refused.headers, path
    wrong = requests.get(f"{flower.url}/api/tasks", auth=("oms", "wrong"), timeout=5)
    control = requests.post(f"{flower.url}/api/task/revoke/some-task-id", headers=evil, timeout=5)
    preflight = requests.options(f"{flower.url}/api/tasks", headers=evil, timeout=5)
    allowed = requests.get(f"{flower.url}/api/tasks", auth=flower.login, headers=evil, timeout=5)

    assert wrong.status_code == 401
    assert control.status_code in (401, 403)
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert allowed.status_code == 200
    assert "Access-Control-Allow-Origin" not in allowed.headers
