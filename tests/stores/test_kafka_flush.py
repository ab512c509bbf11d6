"""A publish waits for Kafka in short slices (so a gevent API worker keeps serving), with
the same outcome as one flush(timeout)."""

from oms.stores import kafka


class FakeProducer:
    """flush() reports fewer pending messages on each call, down to ``floor``."""

    def __init__(self, pending: int, floor: int = 0) -> None:
        self.pending, self.floor, self.waits = pending, floor, []

    def flush(self, timeout: float) -> int:
        self.waits.append(timeout)
        self.pending = max(self.floor, self.pending - 1)
        return self.pending


def test_it_returns_as_soon_as_everything_is_confirmed():
    producer = FakeProducer(pending=3)

    assert kafka._flush(producer, timeout=30) == 0
    assert len(producer.waits) == 3
    assert max(producer.waits) <= 0.05  # no single wait holds the thread longer


def test_it_gives_up_at_the_timeout_with_what_is_still_pending():
    producer = FakeProducer(pending=5, floor=2)

    assert kafka._flush(producer, timeout=0.2) == 2
