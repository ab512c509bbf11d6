"""``python -m ims``: serve or seed.

python -m ims serve [--bind 127.0.0.1:8081] [--workers 2]   (gunicorn, seeds on start)
python -m ims seed [--reset]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ims import schema
from ims.catalog import load_catalog
from ims.config import ImsSettings
from ims.db import Database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ims", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the service under gunicorn (default)")
    serve.add_argument("--bind", default="127.0.0.1:8081")
    serve.add_argument("--workers", type=int, default=2)
    seed = sub.add_parser("seed", help="create the tables, seed the catalog (idempotent)")
    seed.add_argument(
        "--reset", action="store_true", help="restore catalog stock, drop reservations"
    )
    args = parser.parse_args(argv)

    if args.command in (None, "serve"):
        bind = getattr(args, "bind", "127.0.0.1:8081")
        workers = str(getattr(args, "workers", 2))
        # No --preload: each worker opens its own connections after the fork (ims.db).
        gunicorn = [sys.executable, "-m", "gunicorn", "--bind", bind, "--workers", workers]
        os.execv(sys.executable, [*gunicorn, "ims.wsgi:app"])

    settings = ImsSettings.from_env()
    database = Database(settings.postgres_url, size=1, timeout=settings.pool_timeout_s)
    try:
        with database.connection() as conn:
            schema.create_schema(conn)
            result = schema.seed(conn, load_catalog(), reset=args.reset)
    finally:
        database.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
