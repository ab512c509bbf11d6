"""The local stack's PostgreSQL: a cluster of its own under ``.stack/``, on loopback only.

It holds FerretDB's data (database ``ferretdb``: every MongoDB database is a schema there)
and, beside it, the IMS's stock (database ``ims``). The cluster is made with Debian's
``initdb`` on first start and never touches the system's cluster. PostgreSQL refuses to
run as root, so when the stack is started by root (CI, containers) the server runs as the
``postgres`` user that Debian's package creates, through ``setpriv`` (which execs, so the
stop signal reaches the server itself).

Clients authenticate with a password made once and kept in ``.stack/postgres-password``;
the server listens on 127.0.0.1 only and has no Unix socket.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
from pathlib import Path

from devstack import install

HOST = "127.0.0.1"
PORT = 54329
USER = "oms"
FERRETDB_DATABASE = "ferretdb"
IMS_DATABASE = "ims"
RUN_AS = "postgres"  # when started by root

# Settings for a 2-core development machine. synchronous_commit=off keeps every commit
# crash-safe for the database (no corruption, nothing lost when a process dies) and
# gives up only the last few hundred milliseconds of commits if the machine itself goes
# down: it removes one fsync per FerretDB update, which the order lifecycle does per order.
SERVER_SETTINGS = {
    "listen_addresses": HOST,
    "port": str(PORT),
    "unix_socket_directories": "",
    "max_connections": "300",
    "shared_buffers": "512MB",
    "work_mem": "16MB",
    "maintenance_work_mem": "256MB",
    "synchronous_commit": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    # An order's document is about 2.1 KB once finalized, over PostgreSQL's 2 KB TOAST
    # threshold, so every write compresses it and every read decompresses it: lz4 instead
    # of the default pglz took a block update from 1.22 to 0.96 ms per order and a block
    # read from 0.38 to 0.35 ms (1,962 orders, medians of 5 alternating runs, one client).
    "default_toast_compression": "lz4",
    "log_min_messages": "warning",
    "log_min_duration_statement": "-1",
}


def _state() -> Path:
    from devstack.services import STATE

    return STATE


def data_dir() -> Path:
    return _state() / "data" / "postgres"


def password() -> str:
    """The cluster's password, made once (before initdb) and kept beside the data."""
    path = _state() / "postgres-password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(18))
        path.chmod(0o600)
    return path.read_text().strip()


def conninfo(database: str = FERRETDB_DATABASE) -> str:
    """libpq keyword string (the password included): for psycopg."""
    return (
        f"host={HOST} port={PORT} user={USER} dbname={database} "
        f"password={password()} connect_timeout=3"
    )


def url(database: str) -> str:
    """postgres:// URL without the password (give it as PGPASSWORD): for FerretDB, IMS."""
    return f"postgres://{USER}@{HOST}:{PORT}/{database}"


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise RuntimeError(
            f"running as root needs setpriv (util-linux) to start PostgreSQL as the {RUN_AS!r} user"
        )
    return [setpriv, f"--reuid={RUN_AS}", f"--regid={RUN_AS}", "--init-groups", "--"] + argv


def _give_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam(RUN_AS)
        os.chown(path, user.pw_uid, user.pw_gid)


def _initdb(bindir: Path) -> None:
    data = data_dir()
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    _give_to_server_user(data)
    pwfile = _state() / "run" / "postgres-initdb-pw"
    pwfile.parent.mkdir(parents=True, exist_ok=True)
    pwfile.write_text(password() + "\n")
    _give_to_server_user(pwfile)
    install.say(f"creating the PostgreSQL cluster in {data} (first start) ...")
    try:
        done = subprocess.run(
            _as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    USER,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=peer",
                    "--encoding=UTF8",
                    "--locale=C",
                ]
            ),
            capture_output=True,
            text=True,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if done.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)  # a half-made cluster would block the next try
        raise RuntimeError(f"initdb failed: {done.stdout}{done.stderr}"[-2000:])


def launch_argv() -> list[str]:
    """Install PostgreSQL if missing, make the cluster on first start; how to run it."""
    bindir = install.postgres_bindir()
    if not (data_dir() / "PG_VERSION").exists():
        _initdb(bindir)
    settings = [arg for name, value in SERVER_SETTINGS.items() for arg in ("-c", f"{name}={value}")]
    return _as_server_user([str(bindir / "postgres"), "-D", str(data_dir()), *settings])


def check() -> None:
    """A real query on the server (raises when it does not answer)."""
    import psycopg

    with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
        conn.execute("SELECT 1").fetchone()


def ensure_database(name: str) -> None:
    """Create database ``name`` if the cluster does not have it yet."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            pass  # created by a concurrent caller
