"""Waiting for an upload, against a scripted client and clock (no server)."""

import pytest

from oms.cli.errors import ApiUnavailable, Interrupted, WaitTimedOut
from oms.cli.wait import OUTAGE_S, POLL_S, wait_for_upload


def state(status: str, done: int = 0, total: int = 2) -> dict:
    return {
        "upload_id": "u1",
        "status": status,
        "chunks": {"total": total, "done": done, "failed": 0, "pending": total - done},
    }


class ScriptedClient:
    def __init__(self, answers: list) -> None:
        self.answers = answers
        self.calls = 0

    def get_upload(self, upload_id: str) -> dict:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        if isinstance(answer, BaseException):
            raise answer
        return answer


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_returns_the_terminal_state():
    client = ScriptedClient(
        [state("queued", total=0), state("processing", 1), state("completed", 2)]
    )
    clock = FakeClock()
    assert wait_for_upload(client, "u1", 60, clock, clock.sleep) == state("completed", 2)
    assert client.calls == 3 and clock.now == 2 * POLL_S


def test_times_out_with_the_last_state_and_how_to_follow():
    clock = FakeClock()
    with pytest.raises(WaitTimedOut) as raised:
        wait_for_upload(ScriptedClient([state("processing", 1)]), "u1", 3, clock, clock.sleep)
    assert raised.value.exit_code == 5
    assert "still processing after 3 s (1 of 2 chunks done)" in raised.value.message
    follow = "it goes on in the background; follow it with: oms status u1"
    assert raised.value.details == [follow]


def test_a_short_outage_is_waited_out():
    outage = [ApiUnavailable("down")] * int(OUTAGE_S / POLL_S / 2)
    client = ScriptedClient([state("processing", 1), *outage, state("failed", 1)])
    clock = FakeClock()
    assert wait_for_upload(client, "u1", 600, clock, clock.sleep)["status"] == "failed"


def test_a_long_outage_gives_up():
    client = ScriptedClient([state("processing", 1), ApiUnavailable("down")])
    clock = FakeClock()
    with pytest.raises(ApiUnavailable) as raised:
        wait_for_upload(client, "u1", 600, clock, clock.sleep)
    assert clock.now == pytest.approx(OUTAGE_S + POLL_S)
    assert "oms status u1" in raised.value.details[-1]


def test_ctrl_c_stops_the_wait_not_the_upload():
    clock = FakeClock()
    with pytest.raises(Interrupted) as raised:
        wait_for_upload(
            ScriptedClient([state("processing", 1), KeyboardInterrupt()]),
            "u1",
            600,
            clock,
            clock.sleep,
        )
    assert raised.value.exit_code == 130
    assert raised.value.message == "stopped waiting for upload u1"
    assert "oms status u1" in raised.value.details[0]
