"""``python -m ims``: serve, seed or recover.

python -m ims serve [--bind 127.0.0.1:8081] [--workers 2]   (gunicorn, seeds on start)
python -m ims seed [--reset]
python -m ims recover [--older-than SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace

from ims.app import build_app, get_store
from ims.catalog import load_catalog
from ims.config import ImsSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ims", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the service under gunicorn (default)")
    serve.add_argument("--bind", default="127.0.0.1:8081")
    serve.add_argument("--workers", type=int, default=2)
    seed = sub.add_parser("seed", help="seed the catalog (idempotent)")
    seed.add_argument(
        "--reset", action="store_true", help="restore catalog stock, drop reservations"
    )
    recover = sub.add_parser(
        "recover", help="finish reservations left half-done by a crash"
    )
    recover.add_argument("--older-than", type=float, default=None, metavar="SECONDS")
    args = parser.parse_args(argv)

    if args.command in (None, "serve"):
        bind = getattr(args, "bind", "127.0.0.1:8081")
        workers = str(getattr(args, "workers", 2))
        gunicorn = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            bind,
            "--workers",
            workers,
        ]
        os.execv(sys.executable, [*gunicorn, "ims.wsgi:app"])

    settings = replace(ImsSettings.from_env(), seed_on_start=False)
    store = get_store(build_app(settings))
    if args.command == "seed":
        result = store.seed(load_catalog(), reset=args.reset)
    else:
        result = store.reservations.recover(older_than=args.older_than)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
