"""SQS, the Celery broker (moto locally, LocalStack in docker-compose): reachability only.

Celery (kombu) talks to SQS itself; OMS only asks whether it answers, for /readyz.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from oms.config import get_settings
from oms.errors import Unavailable
from oms.stores.process_local import per_process

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient  # boto3-stubs[sqs], a dev dependency


@per_process
def client() -> SQSClient:
    settings = get_settings()
    return boto3.client(
        "sqs",
        endpoint_url=settings.aws_endpoint_url,
        region_name=settings.aws_region,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        config=Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 1}),
    )


def ping() -> None:
    try:
        client().list_queues(QueueNamePrefix=get_settings().sqs_queue_prefix, MaxResults=1)
    except (ClientError, BotoCoreError) as exc:
        raise Unavailable(f"SQS did not answer: {exc}") from exc
