"""Install the local stack's servers, caching every download for the next run.

Downloads and builds land in a cache outside the work tree (``OMS_DEVSTACK_CACHE``,
default ``~/.cache/oms-devstack``) so a fresh clone on the same machine starts in seconds.
Each step says what it is doing, because the first run takes minutes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
KAFKA_VERSION = "3.9.1"
FERRETDB_VERSION = "v1.24.2"


def cache_dir() -> Path:
    root = Path(os.environ.get("OMS_DEVSTACK_CACHE", Path.home() / ".cache" / "oms-devstack"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def say(message: str) -> None:
    print(f"[devstack] {message}", file=sys.stderr, flush=True)


def _run(cmd: list[str], **kwargs) -> None:
    say("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kwargs)


def redis_server() -> Path:
    """Debian's redis-server (apt-get on first use)."""
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    say("installing redis-server from Debian's packages (apt-get) ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run(["apt-get", "update", "-qq"], env=env)
    _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "redis-server"], env=env)
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("apt-get installed redis-server but it is not on PATH")
    return Path(found)


def kafka_libs() -> Path:
    """Apache Kafka broker jars (KRaft) from Maven Central, fetched with Maven."""
    libs = cache_dir() / f"kafka-{KAFKA_VERSION}" / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    if not shutil.which("mvn"):
        raise RuntimeError("Maven (mvn) is needed to fetch Apache Kafka from Maven Central")
    say(f"fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central with Maven ...")
    shutil.rmtree(libs, ignore_errors=True)
    _run(
        [
            "mvn", "-B", "--no-transfer-progress", "-f", str(HERE / "kafka" / "pom.xml"),
            "dependency:copy-dependencies",
            f"-Dkafka.version={KAFKA_VERSION}",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ]
    )
    marker.touch()
    say(f"Kafka jars in {libs}")
    return libs


def ferretdb_binary() -> Path:
    """FerretDB built from the Go module proxy as an embedding main package (see main.go)."""
    binary = cache_dir() / f"ferretdb-{FERRETDB_VERSION}" / "ferretdb"
    if binary.exists():
        return binary
    if not shutil.which("go"):
        raise RuntimeError("Go is needed to build FerretDB from the Go module proxy")
    say(f"building FerretDB {FERRETDB_VERSION} with Go (downloads modules; about a minute) ...")
    binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_suffix(".tmp")
    _run(
        ["go", "build", "-mod=readonly", "-buildvcs=false", "-tags", "ferretdb_no_postgresql",
         "-trimpath",
         "-o", str(tmp), "."],
        cwd=HERE / "ferretdb",
    )
    tmp.rename(binary)
    say(f"FerretDB binary at {binary}")
    return binary


def moto_server() -> Path:
    """moto's server, installed in the project's virtualenv by ``pip install -e '.[dev]'``."""
    found = Path(sys.executable).parent / "moto_server"
    if not found.exists():
        raise RuntimeError(f"{found} is missing: run `pip install -e '.[dev]'` (make venv)")
    return found
