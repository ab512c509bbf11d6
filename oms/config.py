"""OMS configuration: every setting, read from the environment once, typed and checked.

Nothing else in OMS reads ``os.environ``. Defaults point at the local stack
(``make stack``); docker-compose sets the same variables to its own hosts. A wrong
value fails at start-up with a message naming the variable.

A process uses the environment's settings unless it is handed others with
``configure(settings)`` (a test, or a second deployment in one process): every store
client is built from ``get_settings()`` and rebuilt when the settings change
(``oms.stores.process_local``). ``environ(settings)`` gives the variables that reproduce
settings in a child process.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit


class ConfigError(ValueError):
    """A configuration variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    # AWS-compatible endpoint (moto locally, LocalStack in docker-compose) for S3 and SQS.
    aws_endpoint_url: str
    aws_region: str
    aws_access_key_id: str
    aws_secret_access_key: str
    s3_bucket: str
    sqs_queue_prefix: str
    mongo_uri: str
    mongo_db: str
    kafka_bootstrap: str
    kafka_topic_prefix: str
    kafka_partitions: int  # of the topics OMS creates (several finalizers share them)
    kafka_replication: int
    redis_url: str
    ims_url: str
    ims_timeout_s: float
    ims_cache_ttl_s: float
    ims_service_key: str  # sent as X-Service-Key on IMS writes (reservations)
    chunk_rows: int
    max_columns: int  # a header with more is refused
    max_field_chars: int  # a longer cell makes its row invalid
    max_row_chars: int  # a longer record is invalid
    min_chunk_rows: int  # floor of a request's chunk_rows
    max_chunks: int  # about: chunk_rows grows so a file has no more chunks than this
    chunks_in_flight: int  # chunks of one upload in the queue at once (fairness)
    express_rows: int  # an upload of at most this many rows goes on the express queue
    stall_after_s: int  # an upload with no progress this long is re-driven by the reaper
    max_redrives: int  # re-drives before the reaper marks it failed
    max_receives: int  # receives of one SQS message before it goes to the dead-letter queue
    worker_max_memory_mb: int  # a pool process that grew past this is replaced after its task
    max_upload_bytes: int
    task_max_retries: int
    finalizer_batch: int  # order.created events the finalizer takes at once
    sqs_visibility_timeout_s: int
    task_time_limit_s: int
    api_keys: tuple[str, ...]
    # Failed API-key attempts (401/403) one client address may make per minute before it
    # gets 429 (counted in Redis, across API workers; 0 = no limit). A correct key always
    # works.
    auth_failures_per_minute: int
    log_level: str
    stats_max_age_s: float  # GET /stats answers from a copy this old at most (0 = always read)
    # Celery's monitoring events (what Flower shows) go through Redis: docs/architecture.md.
    events_url: str
    # Worker processes' Prometheus samples (prometheus_client multiprocess files), read
    # by the API's /metrics: the API and the workers must share this directory.
    metrics_dir: str
    # Where people reach Flower (the upload page links to it).
    flower_url: str
    # Where people and programs reach the API (webhook payloads link to it).
    public_url: str
    # Webhooks (oms/webhooks): each delivery attempt's timeout, attempts before a delivery
    # is failed, and the first retry's wait (doubling, with jitter, up to an hour).
    webhook_timeout_s: float
    webhook_max_attempts: int
    webhook_retry_base_s: float
    # Reliability runs only (oms/crash_points.py): where a worker kills itself, once.
    crash_at: str
    crash_marker: str

    @property
    def broker_url(self) -> str:
        """kombu SQS URL; the endpoint comes from the host part (docs/architecture.md)."""
        endpoint = urlsplit(self.aws_endpoint_url)
        user = quote(self.aws_access_key_id, safe="")
        secret = quote(self.aws_secret_access_key, safe="")
        return f"sqs://{user}:{secret}@{endpoint.netloc}"

    @property
    def aws_is_secure(self) -> bool:
        return urlsplit(self.aws_endpoint_url).scheme == "https"

    @property
    def events_broker_url(self) -> str:
        """Where workers send Celery's monitoring events and Flower reads them:
        OMS_EVENTS_URL, else the result backend's Redis. Tasks themselves stay on SQS."""
        return self.events_url or self.redis_url

    def topic(self, event_type: str) -> str:
        return f"{self.kafka_topic_prefix}{event_type}"


_CHECKOUT = Path(__file__).resolve().parent.parent  # local runs keep state in .stack/


# name -> (environment variable, default, parser). The docs table in README.md and the
# docker-compose test read this mapping, so it is the one list of variables.
def _text(var: str, raw: str) -> str:
    if not raw.strip():
        raise ConfigError(f"{var} must not be empty")
    return raw.strip()


def _url(*schemes: str) -> Callable[[str, str], str]:
    def parse(var: str, raw: str) -> str:
        value = _text(var, raw)
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc:
            raise ConfigError(
                f"{var}={value!r} is not a URL of scheme {' or '.join(schemes)} with a host"
            )
        return value.rstrip("/")

    return parse


def _int(minimum: int) -> Callable[[str, str], int]:
    def parse(var: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not a whole number") from None
        if value < minimum:
            raise ConfigError(f"{var}={value} must be at least {minimum}")
        return value

    return parse


def _float(minimum: float) -> Callable[[str, str], float]:
    def parse(var: str, raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not a number") from None
        if value < minimum:
            raise ConfigError(f"{var}={value} must be at least {minimum}")
        return value

    return parse


def _hostports(var: str, raw: str) -> str:
    value = _text(var, raw)
    for item in value.split(","):
        if not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}", item.strip()):
            raise ConfigError(f"{var}={value!r}: {item!r} is not host:port")
    return value


def _bucket(var: str, raw: str) -> str:
    value = _text(var, raw)
    if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", value):
        raise ConfigError(f"{var}={value!r} is not a valid S3 bucket name")
    return value


def _prefix(var: str, raw: str) -> str:
    value = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9_\-.]{0,40}", value):
        raise ConfigError(f"{var}={value!r} may hold only letters, digits, '-', '_', '.'")
    return value


def _optional(parse: Callable[[str, str], str]) -> Callable[[str, str], str]:
    """``parse``, or empty when the variable is empty (the setting then falls back)."""

    def parse_optional(var: str, raw: str) -> str:
        return parse(var, raw) if raw.strip() else ""

    return parse_optional


def _directory(var: str, raw: str) -> str:
    return str(Path(_text(var, raw)).expanduser().absolute())


def _keys(var: str, raw: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in raw.split(",") if key.strip())


def _level(var: str, raw: str) -> str:
    value = raw.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"{var}={raw!r} must be DEBUG, INFO, WARNING or ERROR")
    return value


def _crash_point(var: str, raw: str) -> str:
    from oms.crash_points import POINTS

    value = raw.strip()
    name, at, index = value.removeprefix("child:").partition("@")
    if value and (name not in POINTS or (at and not index.isdigit())):
        raise ConfigError(
            f"{var}={raw!r} must be one of {', '.join(POINTS)}, optionally @CHUNK, "
            "optionally after child: (only the process that reaches it dies)"
        )
    return value


VARIABLES: dict[str, tuple[str, str, Callable[[str, str], Any]]] = {
    "aws_endpoint_url": ("OMS_AWS_ENDPOINT_URL", "http://127.0.0.1:4566", _url("http", "https")),
    "aws_region": ("AWS_REGION", "us-east-1", _text),
    "aws_access_key_id": ("AWS_ACCESS_KEY_ID", "test", _text),
    "aws_secret_access_key": ("AWS_SECRET_ACCESS_KEY", "test", _text),
    "s3_bucket": ("OMS_S3_BUCKET", "oms-orders", _bucket),
    "sqs_queue_prefix": ("OMS_SQS_QUEUE_PREFIX", "oms-", _prefix),
    "mongo_uri": ("OMS_MONGO_URI", "mongodb://127.0.0.1:27018", _url("mongodb", "mongodb+srv")),
    "mongo_db": ("OMS_MONGO_DB", "oms", _prefix),
    "kafka_bootstrap": ("OMS_KAFKA_BOOTSTRAP", "127.0.0.1:9092", _hostports),
    "kafka_topic_prefix": ("OMS_KAFKA_TOPIC_PREFIX", "", _prefix),
    "kafka_partitions": ("OMS_KAFKA_PARTITIONS", "3", _int(1)),
    "kafka_replication": ("OMS_KAFKA_REPLICATION", "1", _int(1)),
    "redis_url": ("OMS_REDIS_URL", "redis://127.0.0.1:6379/0", _url("redis", "rediss")),
    "ims_url": ("OMS_IMS_URL", "http://127.0.0.1:8081", _url("http", "https")),
    "ims_timeout_s": ("OMS_IMS_TIMEOUT", "10", _float(0.1)),
    "ims_cache_ttl_s": ("OMS_IMS_CACHE_TTL", "300", _float(0)),
    "ims_service_key": ("OMS_IMS_SERVICE_KEY", "", lambda var, raw: raw.strip()),
    "chunk_rows": ("OMS_CHUNK_ROWS", "5000", _int(1)),
    "max_columns": ("OMS_MAX_COLUMNS", "200", _int(11)),
    "max_field_chars": ("OMS_MAX_FIELD_CHARS", "1000", _int(64)),
    "max_row_chars": ("OMS_MAX_ROW_CHARS", "65536", _int(1024)),
    "min_chunk_rows": ("OMS_MIN_CHUNK_ROWS", "500", _int(1)),
    "max_chunks": ("OMS_MAX_CHUNKS", "2000", _int(1)),
    "chunks_in_flight": ("OMS_CHUNKS_IN_FLIGHT", "4", _int(1)),
    "express_rows": ("OMS_EXPRESS_ROWS", "1000", _int(0)),
    "stall_after_s": ("OMS_STALL_AFTER", "300", _int(10)),
    "max_redrives": ("OMS_MAX_REDRIVES", "3", _int(0)),
    "max_receives": ("OMS_MAX_RECEIVES", "5", _int(2)),
    "worker_max_memory_mb": ("OMS_WORKER_MAX_MEMORY_MB", "250", _int(64)),
    "max_upload_bytes": ("OMS_MAX_UPLOAD_BYTES", str(2 * 1024**3), _int(1)),
    "task_max_retries": ("OMS_TASK_MAX_RETRIES", "8", _int(0)),
    "finalizer_batch": ("OMS_FINALIZER_BATCH", "500", _int(1)),
    "sqs_visibility_timeout_s": ("OMS_SQS_VISIBILITY_TIMEOUT", "90", _int(10)),
    "task_time_limit_s": ("OMS_TASK_TIME_LIMIT", "60", _int(5)),
    "api_keys": ("OMS_API_KEYS", "", _keys),
    "auth_failures_per_minute": ("OMS_AUTH_FAILURES_PER_MINUTE", "20", _int(0)),
    "log_level": ("OMS_LOG_LEVEL", "INFO", _level),
    "stats_max_age_s": ("OMS_STATS_MAX_AGE", "1", _float(0)),
    "events_url": ("OMS_EVENTS_URL", "", _optional(_url("redis", "rediss"))),
    "metrics_dir": ("OMS_METRICS_DIR", str(_CHECKOUT / ".stack" / "metrics"), _directory),
    "flower_url": ("OMS_FLOWER_URL", "http://127.0.0.1:5555", _url("http", "https")),
    "public_url": ("OMS_PUBLIC_URL", "http://127.0.0.1:8080", _url("http", "https")),
    "webhook_timeout_s": ("OMS_WEBHOOK_TIMEOUT", "5", _float(0.5)),
    "webhook_max_attempts": ("OMS_WEBHOOK_MAX_ATTEMPTS", "8", _int(1)),
    "webhook_retry_base_s": ("OMS_WEBHOOK_RETRY_BASE", "5", _float(0.1)),
    "crash_at": ("OMS_CRASH_AT", "", _crash_point),
    "crash_marker": ("OMS_CRASH_MARKER", "/tmp/oms-crashed", _directory),
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``environ`` (default: the process environment)."""
    environ = os.environ if environ is None else environ
    values = {}
    for field in fields(Settings):
        var, default, parse = VARIABLES[field.name]
        values[field.name] = parse(var, environ.get(var, default))
    settings = Settings(**values)
    if settings.task_time_limit_s >= settings.sqs_visibility_timeout_s:
        raise ConfigError(
            f"OMS_TASK_TIME_LIMIT={settings.task_time_limit_s} must be below "
            f"OMS_SQS_VISIBILITY_TIMEOUT={settings.sqs_visibility_timeout_s}: a task still "
            "running when its message becomes visible again would run twice"
        )
    return settings


def environ(settings: Settings) -> dict[str, str]:
    """The environment variables that ``load_settings`` turns into ``settings``."""
    variables = {}
    for name, (var, _, _) in VARIABLES.items():
        value = getattr(settings, name)
        variables[var] = ",".join(value) if isinstance(value, tuple) else str(value)
    return variables


@lru_cache(maxsize=1)
def _from_environment() -> Settings:
    return load_settings()


_configured: list[Settings] = []  # at most one: the settings handed to configure()


def configure(settings: Settings | None) -> Settings | None:
    """Use ``settings`` in this process from now on (None: the environment's again).
    Returns the settings configured before, so a caller can put them back."""
    previous = _configured[0] if _configured else None
    _configured[:] = [settings] if settings is not None else []
    return previous


def get_settings() -> Settings:
    """The process's settings: those handed to ``configure``, else the environment's,
    read once."""
    return _configured[0] if _configured else _from_environment()
