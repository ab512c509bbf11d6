"""Peak memory of converting .xlsx workbooks to CSV (oms.uploads.spreadsheet), by size.

Each size is generated (seeded rows of tests.pipeline.rows) and converted in a fresh
process, which reports its peak RSS before and after the conversion:

    .venv/bin/python benchmarks/xlsx_memory.py --rows 20000 100000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def convert(path: Path) -> dict:
    from oms.uploads.spreadsheet import csv_blocks

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.monotonic()
    size = sum(len(block) for block in csv_blocks(path))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "workbook_bytes": path.stat().st_size,
        "csv_bytes": size,
        "seconds": round(time.monotonic() - began, 1),
        "peak_rss_before_mb": round(before / 1024, 1),
        "peak_rss_after_mb": round(peak / 1024, 1),
        "growth_mb": round((peak - before) / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--convert", type=Path, help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.pipeline.rows import to_xlsx

    if args.convert:
        print(json.dumps(convert(args.convert)))
        return
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for rows in args.rows:
            path = Path(scratch) / f"{rows}.xlsx"
            to_xlsx(rows, path)
            child = subprocess.run(
                [sys.executable, __file__, "--convert", str(path)],
                check=True,
                capture_output=True,
                text=True,
            )
            results.append({"rows": rows, **json.loads(child.stdout)})
            print(json.dumps(results[-1]), flush=True)


if __name__ == "__main__":
    main()
