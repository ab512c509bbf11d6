"""Readiness: does each external system answer a real request right now?"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import boto3
import requests
from botocore.config import Config
from confluent_kafka.admin import AdminClient

from oms.config import get_settings
from oms.stores import mongo, s3


def _s3() -> None:
    s3.client().head_bucket(Bucket=get_settings().s3_bucket)


def _sqs() -> None:
    settings = get_settings()
    boto3.client("sqs", endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region,
                 aws_access_key_id=settings.aws_access_key_id,
                 aws_secret_access_key=settings.aws_secret_access_key,
                 config=Config(connect_timeout=2, read_timeout=3,
                               retries={"max_attempts": 1})).list_queues(MaxResults=1)


def _mongo() -> None:
    mongo.client().admin.command("ping")


def _kafka() -> None:
    admin = AdminClient({"bootstrap.servers": get_settings().kafka_bootstrap, "log_level": 0})
    if not admin.list_topics(timeout=3).brokers:
        raise RuntimeError("no broker in metadata")


def _ims() -> None:
    response = requests.get(f"{get_settings().ims_url}/healthz", timeout=3)
    response.raise_for_status()


CHECKS: dict[str, Callable[[], None]] = {
    "s3": _s3, "sqs": _sqs, "mongodb": _mongo, "kafka": _kafka, "ims": _ims,
}


def check_all() -> dict[str, str]:
    """name -> "ok" or the reason it failed; all checks run at once, each ~3 s at most."""
    def run(check: Callable[[], None]) -> str:
        try:
            check()
        except Exception as exc:  # noqa: BLE001  (a readiness probe reports any failure)
            return f"{type(exc).__name__}: {exc}"[:300]
        return "ok"

    with ThreadPoolExecutor(max_workers=len(CHECKS)) as pool:
        results = dict(zip(CHECKS, pool.map(run, CHECKS.values()), strict=True))
    return results
