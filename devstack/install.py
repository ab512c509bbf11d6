"""Install the local stack's servers, caching every download for the next run.

Downloads and builds land in a cache outside the work tree (``OMS_DEVSTACK_CACHE``,
default ``~/.cache/oms-devstack``) so a fresh clone on the same machine starts in seconds.
Each step says what it is doing, because the first run takes minutes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KAFKA_VERSION = "3.9.1"
FERRETDB_VERSION = "v1.24.2"
POSTGRES_MAJOR = 15


def cache_dir() -> Path:
    root = Path(os.environ.get("OMS_DEVSTACK_CACHE", Path.home() / ".cache" / "oms-devstack"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def say(message: str) -> None:
    print(f"[devstack] {message}", file=sys.stderr, flush=True)


def _run(cmd: list[str], **kwargs: Any) -> None:
    say("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kwargs)


def apt_install(package: str) -> None:
    """Install one of Debian's packages (needs root, as in CI and containers)."""
    say(f"installing {package} from Debian's packages (apt-get) ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run(["apt-get", "update", "-qq"], env=env)
    _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", package], env=env)


def redis_server() -> Path:
    """Debian's redis-server (apt-get on first use)."""
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    apt_install("redis-server")
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("apt-get installed redis-server but it is not on PATH")
    return Path(found)


def docker_compose() -> Path:
    """Debian's docker-compose (apt-get on first use). ``docker-compose config -q``
    validates a compose file against the Compose schema without a Docker engine."""
    found = shutil.which("docker-compose")
    if found:
        return Path(found)
    apt_install("docker-compose")
    found = shutil.which("docker-compose")
    if not found:
        raise RuntimeError("apt-get installed docker-compose but it is not on PATH")
    return Path(found)


def postgres_bindir() -> Path:
    """Debian's PostgreSQL 15 server programs (initdb, postgres); apt-get on first use."""
    bindir = Path(f"/usr/lib/postgresql/{POSTGRES_MAJOR}/bin")
    if not (bindir / "postgres").exists():
        apt_install(f"postgresql-{POSTGRES_MAJOR}")
    if not (bindir / "postgres").exists() or not (bindir / "initdb").exists():
        raise RuntimeError(
            f"apt-get installed postgresql-{POSTGRES_MAJOR} but {bindir} has no postgres/initdb"
        )
    return bindir


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
            "mvn",
            "-B",
            "--no-transfer-progress",
            "-f",
            str(HERE / "kafka" / "pom.xml"),
            "dependency:copy-dependencies",
            f"-Dkafka.version={KAFKA_VERSION}",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ]
    )
    marker.touch()
    say(f"Kafka jars in {libs}")
    return libs


def _ferretdb_source_digest() -> str:
    """The build's inputs, so a change to main.go or the modules makes a new binary."""
    digest = hashlib.sha256()
    for name in ("main.go", "go.mod", "go.sum"):
        digest.update((HERE / "ferretdb" / name).read_bytes())
    return digest.hexdigest()[:12]


def ferretdb_binary() -> Path:
    """FerretDB with its PostgreSQL backend, built from the Go module proxy as an embedding
    main package (see main.go); the SQLite backend is left out of the build."""
    binary = cache_dir() / f"ferretdb-{FERRETDB_VERSION}-{_ferretdb_source_digest()}" / "ferretdb"
    if binary.exists():
        return binary
    if not shutil.which("go"):
        raise RuntimeError("Go is needed to build FerretDB from the Go module proxy")
    say(f"building FerretDB {FERRETDB_VERSION} with Go (downloads modules; about a minute) ...")
    binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_suffix(".tmp")
    _run(
        [
            "go",
            "build",
            "-mod=readonly",
            "-buildvcs=false",
            "-tags",
            "ferretdb_no_sqlite",
            "-trimpath",
            "-o",
            str(tmp),
            ".",
        ],
        cwd=HERE / "ferretdb",
    )
    tmp.rename(binary)
    say(f"FerretDB binary at {binary}")
    return binary


def moto_server() -> list[str]:
    """The command that starts moto's server (``devstack.moto_server``: moto, installed in
    the project's virtualenv by ``pip install -e '.[dev]'``, serving ranged GETs from the
    range); its arguments follow."""
    if importlib.util.find_spec("moto") is None:
        raise RuntimeError("moto is missing: run `pip install -e '.[dev]'` (make venv)")
    return [sys.executable, "-m", "devstack.moto_server"]
