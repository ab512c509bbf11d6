"""The local stack's servers: how each starts and how we know it really answers.

A check makes a real request through the same client library OMS uses (an S3 and SQS call,
a Mongo command, Kafka metadata, a Redis PING), not just a port probe.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import install, postgres
from oms import queues

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".stack"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    prepare: Callable[[], Launch]  # installs if needed, returns how to start
    check: Callable[[], None]  # raises if the server does not answer a real request
    start_timeout: float = 30.0
    own_process_only: bool = False  # healthy only when started from this checkout
    stop_signal: int = signal.SIGTERM


def data_dir(name: str) -> Path:
    path = STATE / "data" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


# --- moto (S3, SQS, SNS) -------------------------------------------------------------


def _moto() -> Launch:
    return Launch([*install.moto_server(), "-H", HOST, "-p", "4566"])


def _check_moto() -> None:
    import boto3
    from botocore.config import Config

    kwargs: dict[str, Any] = {
        "endpoint_url": f"http://{HOST}:4566",
        "region_name": "us-east-1",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
        "config": Config(connect_timeout=1, read_timeout=3, retries={"max_attempts": 1}),
    }
    boto3.client("s3", **kwargs).list_buckets()
    boto3.client("sqs", **kwargs).list_queues()
    boto3.client("sns", **kwargs).list_topics()


# --- Redis ---------------------------------------------------------------------------


def _redis() -> Launch:
    return Launch(
        [
            str(install.redis_server()),
            "--bind",
            HOST,
            "--port",
            "6379",
            "--dir",
            str(data_dir("redis")),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
        ]
    )


def _check_redis() -> None:
    import redis

    client = redis.Redis(host=HOST, port=6379, socket_timeout=2, socket_connect_timeout=1)
    if not client.ping():
        raise RuntimeError("PING did not answer PONG")


# --- PostgreSQL (under FerretDB; IMS stock) ------------------------------------------------


def _postgres() -> Launch:
    return Launch(postgres.launch_argv())


# --- FerretDB (MongoDB wire protocol, on PostgreSQL) ----------------------------------------


# FerretDB spends its CPU decoding and encoding documents (pprof during the finalizer's
# block updates: sjson.Unmarshal 44 %, garbage collection 17 %) on a live heap of tens of
# MB, so Go's default (a collection at each doubling) collects all the time. Collecting
# only near a memory limit instead: `make bench-finalize` (100k rows, 1 finalizer) took
# FerretDB 158 CPU s and 158.7 s to all final with the default, 119 s and 133.4 s with
# GOGC=400, 94 s and 120.2 s with this (RSS up to the limit; the machine has 24 GB).
_FERRETDB_GC = {"GOGC": "off", "GOMEMLIMIT": "768MiB"}


def _ferretdb() -> Launch:
    postgres.ensure_database(postgres.FERRETDB_DATABASE)
    return Launch(
        [
            str(install.ferretdb_binary()),
            "--listen-addr",
            f"{HOST}:27018",
            "--postgresql-url",
            postgres.url(postgres.FERRETDB_DATABASE),
        ],
        env={"PGPASSWORD": postgres.password(), **_FERRETDB_GC},
    )


def _check_ferretdb() -> None:
    import pymongo

    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        f"mongodb://{HOST}:27018", serverSelectionTimeoutMS=1500
    )
    with client:
        client.admin.command("ping")
        client.list_database_names()


# --- Apache Kafka (KRaft) -----------------------------------------------------------

KAFKA_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{host}:9093
listeners=PLAINTEXT://{host}:9092,CONTROLLER://{host}:9093
advertised.listeners=PLAINTEXT://{host}:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={logs}
num.partitions=3
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=24
"""

LOG4J_PROPERTIES = """\
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
"""


def _cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


def _kafka() -> Launch:
    libs = install.kafka_libs()
    home = data_dir("kafka")
    props = home / "server.properties"
    log4j = home / "log4j.properties"
    logs = home / "logs"
    props.write_text(KAFKA_PROPERTIES.format(host=HOST, logs=logs))
    log4j.write_text(LOG4J_PROPERTIES)
    java = [
        "java",
        "-Xms256m",
        "-Xmx512m",
        f"-Dlog4j.configuration=file:{log4j}",
        "-cp",
        f"{libs}/*",
    ]
    if not (logs / "meta.properties").exists():
        install.say("formatting Kafka KRaft storage (first start) ...")
        # "--cluster-id=" keeps an id starting with "-" from reading as an option.
        formatted = subprocess.run(
            java
            + [
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={_cluster_id()}",
                "-c",
                str(props),
            ],
            capture_output=True,
            text=True,
        )
        if formatted.returncode != 0:
            raise RuntimeError(
                f"Kafka storage format failed: {formatted.stdout}{formatted.stderr}"[-2000:]
            )
    return Launch(java + ["-XX:+UseSerialGC", "kafka.Kafka", str(props)])


def _check_kafka() -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(
        {"bootstrap.servers": f"{HOST}:9092", "socket.timeout.ms": 2000, "log_level": 0}
    )
    metadata = admin.list_topics(timeout=3)
    if not metadata.brokers:
        raise RuntimeError("no broker in cluster metadata")


INFRA = [
    Service("moto", 4566, _moto, _check_moto, start_timeout=30),
    Service("redis", 6379, _redis, _check_redis, start_timeout=15),
    # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave.
    Service(
        "postgres",
        postgres.PORT,
        _postgres,
        postgres.check,
        start_timeout=60,
        stop_signal=signal.SIGINT,
    ),
    Service("ferretdb", 27018, _ferretdb, _check_ferretdb, start_timeout=30),
    Service("kafka", 9092, _kafka, _check_kafka, start_timeout=90),
]


# --- OMS's own processes: IMS, API, worker (+ beat), Flower ------------------------------


def _venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _http_ok(url: str) -> Callable[[], None]:
    def check() -> None:
        import requests

        requests.get(url, timeout=2).raise_for_status()

    return check


def _gunicorn() -> list[str]:
    """gunicorn with the settings docker-compose and the tests use too (gevent worker,
    request-head deadline, limits, access log: oms/api/gunicorn_conf.py)."""
    return [_venv_bin("gunicorn"), "--config", "python:oms.api.gunicorn_conf"]


def _ims() -> Launch:
    """IMS keeps its stock in the cluster's own database; writes need the service key."""
    postgres.ensure_database(postgres.IMS_DATABASE)
    return Launch(
        [*_gunicorn(), "--bind", f"{HOST}:8081", "ims.wsgi:app"],
        env={
            "IMS_POSTGRES_URL": postgres.url(postgres.IMS_DATABASE),
            "PGPASSWORD": postgres.password(),
            "IMS_SERVICE_KEYS": ims_service_key(),
        },
    )


def api_key() -> str:
    """The local API key: OMS_API_KEYS if set, else one made once and kept in .stack/."""
    if os.environ.get("OMS_API_KEYS"):
        return os.environ["OMS_API_KEYS"].split(",")[0].strip()
    path = STATE / "api-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(18))
    return path.read_text().strip()


def flower_credentials() -> str:
    """The local Flower login, ``user:password``: FLOWER_BASIC_AUTH if set, else one made
    once and kept in .stack/ (``make run`` prints it)."""
    if os.environ.get("FLOWER_BASIC_AUTH"):
        return os.environ["FLOWER_BASIC_AUTH"].split(",")[0].strip()
    path = STATE / "flower-credentials"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"oms:{secrets.token_urlsafe(18)}")
        path.chmod(0o600)
    return path.read_text().strip()


def ims_service_key() -> str:
    """The local IMS service key (X-Service-Key on IMS writes): IMS_SERVICE_KEYS if set,
    else one made once and kept in .stack/."""
    if os.environ.get("IMS_SERVICE_KEYS"):
        return os.environ["IMS_SERVICE_KEYS"].split(",")[0].strip()
    path = STATE / "ims-service-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(18))
        path.chmod(0o600)
    return path.read_text().strip()


def _api() -> Launch:
    return Launch(
        [*_gunicorn(), "--bind", f"{HOST}:8080", "oms.api.wsgi:app"],
        env={"OMS_API_KEYS": api_key(), "OMS_IMS_SERVICE_KEY": ims_service_key()},
    )


def _celery_worker(queue: str, name: str, *options: str) -> Launch:
    """A prefork Celery worker reading ``queue`` only, of 2 processes
    (``OMS_STACK_WORKER_CONCURRENCY`` sets another count: the benchmark runs 1 and 2).
    Task events go to Flower by configuration (worker_send_task_events, over Redis)."""
    concurrency = os.environ.get("OMS_STACK_WORKER_CONCURRENCY", "2")
    return Launch(
        [
            *(sys.executable, "-m", "celery", "-A", "workers.app", "worker"),
            *("--loglevel", "INFO", "--queues", queue, "--concurrency", concurrency),
            *("--hostname", f"{name}@%h", *options),
        ],
        env={"OMS_IMS_SERVICE_KEY": ims_service_key()},
    )


def _worker() -> Launch:
    """The chunks' worker, with the beat scheduler (the express worker takes the rest)."""
    schedule = data_dir("celery") / "beat-schedule"
    return _celery_worker(queues.DEFAULT, "oms-worker", "--beat", "--schedule", str(schedule))


def _express() -> Launch:
    """A worker for the express queue only (oms/queues.py): the split, the finalization
    and small uploads run there while the other worker's processes are all on chunks.
    The chunks' worker does not read this queue: measured with both reading it, the
    chunks' worker took a small upload's chunk while both its processes were busy (each
    queue is polled on its own, so two polls raced for its one free slot) and held it
    10.6 s."""
    return _celery_worker(queues.EXPRESS, "oms-express")


def _check_worker(queue: str, number: int) -> Callable[[], None]:
    def check() -> None:
        from workers.diagnostics import ping

        if ping.apply_async((number,), queue=queue).get(timeout=15) != {"pong": number}:
            raise RuntimeError(f"the {queue} queue's worker answered the wrong value")

    return check


def _flower() -> Launch:
    """Flower reads the workers' events where they send them, Redis (`-b` must come before
    `flower`: after it Celery options are ignored); the same app names the tasks. Workers
    send events on their own, so Flower need not ask them to (no remote control on SQS)."""
    from oms.config import get_settings

    return Launch(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.app",
            "-b",
            get_settings().events_broker_url,
            "flower",
            f"--address={HOST}",
            "--port=5555",
            "--enable_events=False",
        ],
        # Flower reads FLOWER_BASIC_AUTH as its --basic-auth option; in the environment the
        # password stays out of `ps`. With a login, its pages and HTTP API need it, and it
        # sends no CORS header (without one and with FLOWER_UNAUTHENTICATED_API it answered
        # Access-Control-Allow-Origin: *, so any web page could read every task).
        env={"FLOWER_BASIC_AUTH": flower_credentials()},
    )


def _finalizer() -> Launch:
    return Launch([_venv_bin("oms-finalizer")], env={"OMS_IMS_SERVICE_KEY": ims_service_key()})


def _check_finalizer() -> None:
    """The finalizer's consumer group has a member (it joined and got partitions)."""
    from confluent_kafka.admin import AdminClient

    from oms.config import get_settings
    from oms.orders.finalizer import group_id

    admin = AdminClient({"bootstrap.servers": f"{HOST}:9092", "log_level": 0})
    group = admin.describe_consumer_groups([group_id(get_settings())])
    description = next(iter(group.values())).result(timeout=5)
    if not description.members:
        raise RuntimeError(f"consumer group {description.group_id} has no member yet")


APP = [
    Service("ims", 8081, _ims, _http_ok(f"http://{HOST}:8081/healthz"), start_timeout=30),
    Service("api", 8080, _api, _http_ok(f"http://{HOST}:8080/healthz"), start_timeout=30),
    Service(
        "worker",
        0,
        _worker,
        _check_worker(queues.DEFAULT, 7),
        start_timeout=90,
        own_process_only=True,
    ),
    Service(
        "express",
        0,
        _express,
        _check_worker(queues.EXPRESS, 8),
        start_timeout=90,
        own_process_only=True,
    ),
    Service("finalizer", 0, _finalizer, _check_finalizer, start_timeout=60, own_process_only=True),
    Service("flower", 5555, _flower, _http_ok(f"http://{HOST}:5555/healthcheck"), start_timeout=30),
]
