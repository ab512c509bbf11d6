"""The API streams uploads: a 150 MB file must not raise its memory by more than a few MB.

The file goes to a separate API process whose queue no worker reads, so the 1.2 million
rows are stored and queued but not processed (that is not what this test is about)."""

from pathlib import Path

import pytest
import requests

from oms.config import environ
from tests.pipeline.rows import COLUMNS, valid_row
from tests.servers import gunicorn

pytestmark = pytest.mark.integration

LIMIT_GROWTH_KB = 8 * 1024  # "a few MB" (parts are spooled to disk; measured: 3.6 MiB)


def _rss_peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


@pytest.fixture
def lone_api(fresh_settings, tmp_path):
    """An API of one gunicorn worker in a namespace of its own (dropped afterwards)."""
    with gunicorn(
        "oms.api.wsgi:app", tmp_path / "api.log", workers=1, env=environ(fresh_settings)
    ) as (url, proc):
        yield url, proc.pid


def test_a_150_mb_upload_does_not_raise_api_memory_by_more_than_a_few_mb(lone_api, tmp_path):
    url, master = lone_api
    path = tmp_path / "big.csv"
    line = ",".join(valid_row(1, prefix="MEM").values()).encode() + b"\n"
    with path.open("wb") as out:
        out.write(",".join(COLUMNS).encode() + b"\n")
        block = line * 10_000
        while out.tell() < 150 * 1024 * 1024:
            out.write(block)
    size = path.stat().st_size
    # Warm up: the first upload imports Celery and opens the SQS connection (~20 MB, once).
    small = requests.post(
        f"{url}/upload",
        timeout=60,
        files={"file": ("small.csv", ",".join(COLUMNS).encode() + b"\n" + line, "text/csv")},
    )
    assert small.status_code == 202, small.text
    (worker,) = _children(master)
    before = _rss_peak_kb(worker)

    with path.open("rb") as handle:
        response = requests.post(
            f"{url}/upload", files={"file": ("big.csv", handle, "text/csv")}, timeout=600
        )

    growth = _rss_peak_kb(worker) - before
    assert response.status_code == 202, response.text
    assert response.json()["size"] == size
    assert growth < LIMIT_GROWTH_KB, f"API peak memory grew by {growth} KiB"
