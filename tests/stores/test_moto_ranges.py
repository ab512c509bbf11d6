"""moto as the stack runs it serves a ranged GET from the range (devstack/moto_server.py,
the workaround for moto 5.2.5 copying the whole object for every range)."""

from __future__ import annotations

import dataclasses
import os
import sys
import uuid

import pytest

from tests import namespaces
from tests.servers import ROOT, Moto

sys.path.insert(0, str(ROOT / "benchmarks"))
import procstats  # noqa: E402

pytestmark = pytest.mark.integration

SIZE = 64 * 1024 * 1024


def test_ranges_of_a_large_object_cost_moto_only_their_bytes(base_settings):
    moto = Moto(ROOT / ".stack" / "logs" / f"test-moto-{uuid.uuid4().hex[:6]}.log")
    moto.start()
    try:
        private = dataclasses.replace(base_settings, aws_endpoint_url=moto.url)
        with namespaces.namespace(private):
            from oms.stores import s3

            data = os.urandom(1024 * 1024) * (SIZE // (1024 * 1024))
            s3.put_bytes("ranges/large.csv", data)
            assert moto.process is not None
            with procstats.Watch({"moto": moto.process.pid}, interval=0.05) as idle:
                pass  # the high-water mark from moto's RSS now
            ranges = [(0, 4096), (SIZE // 2, SIZE // 2 + 65536), (SIZE - 100, SIZE)]
            with procstats.Watch({"moto": moto.process.pid}, interval=0.05) as reading:
                got = [s3.get_range("ranges/large.csv", start, end) for start, end in ranges]
                blocks = s3.iter_blocks("ranges/large.csv", start=SIZE - 3000, block=1024)
                rest = b"".join(blocks)
            grew = reading.report()["moto"]["peak_rss_mb"] - idle.report()["moto"]["peak_rss_mb"]
            assert reading.hwm_reset

            assert got == [data[start:end] for start, end in ranges]
            assert rest == data[SIZE - 3000 :]
            assert s3.get_range("ranges/large.csv", SIZE + 10, SIZE + 20) == b""  # past the end
            assert grew < 16, f"moto grew {grew:.0f} MB for 4 ranges of a {SIZE >> 20} MB object"
            assert s3.read("ranges/large.csv") == data  # without a range: the whole object
    finally:
        moto.kill()
