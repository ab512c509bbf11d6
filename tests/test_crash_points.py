"""OMS_CRASH_AT (oms/crash_points.py): the process reaching the point dies by SIGKILL,
once; with ``child:`` only that process, otherwise its whole process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

REACH = (
    "from oms import crash_points; import sys; "
    "crash_points.reached('chunk.after_insert', int(sys.argv[1])); print('went on')"
)


def _run(tmp_path, crash_at: str, chunk: int, **popen) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "OMS_CRASH_AT": crash_at,
        "OMS_CRASH_MARKER": str(tmp_path / "crashed"),
    }
    return subprocess.run(
        [sys.executable, "-c", REACH, str(chunk)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        **popen,
    )


def test_the_point_kills_its_process_group_once(tmp_path):
    # a session of its own: the kill takes its process group, which must not be ours
    first = _run(tmp_path, "chunk.after_insert@5", 5, start_new_session=True)
    again = _run(tmp_path, "chunk.after_insert@5", 5, start_new_session=True)

    assert first.returncode == -signal.SIGKILL and "went on" not in first.stdout
    assert (tmp_path / "crashed").exists()
    assert again.returncode == 0 and "went on" in again.stdout  # the marker: once


def test_another_chunk_or_point_goes_on(tmp_path):
    other_chunk = _run(tmp_path, "chunk.after_insert@5", 4, start_new_session=True)
    other_point = _run(tmp_path, "chunk.before_insert", 5, start_new_session=True)

    assert other_chunk.returncode == 0 and other_point.returncode == 0
    assert not (tmp_path / "crashed").exists()


def test_child_kills_only_the_process_that_reached_it(tmp_path):
    # same process group as this test: a group kill would end the test run itself
    result = _run(tmp_path, "child:chunk.after_insert@5", 5)

    assert result.returncode == -signal.SIGKILL and "went on" not in result.stdout
