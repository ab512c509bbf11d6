"""SQS, the Celery broker (moto locally, LocalStack in docker-compose).

Celery (kombu) talks to SQS itself; OMS asks whether it answers (/readyz), and gives the
work queues a dead-letter queue.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from oms import queues
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


DEAD_LETTERS = "dead-letter"


def _url(name: str, visibility_s: int | None = None) -> str:
    queue = get_settings().sqs_queue_prefix + name
    if visibility_s:
        created = client().create_queue(
            QueueName=queue, Attributes={"VisibilityTimeout": str(visibility_s)}
        )
    else:
        created = client().create_queue(QueueName=queue)
    return created["QueueUrl"]


def ensure_dead_letters() -> None:
    """A dead-letter queue for the work queues: a message received OMS_MAX_RECEIVES times
    without being deleted (its workers died holding it) moves there instead of coming
    back forever. The work queue is made with the attributes kombu gives it."""
    settings = get_settings()
    try:
        dead = _url(DEAD_LETTERS)
        arn = client().get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        policy = json.dumps(
            {"deadLetterTargetArn": arn, "maxReceiveCount": str(settings.max_receives)}
        )
        for name in queues.WORK_QUEUES:
            url = _url(name, settings.sqs_visibility_timeout_s)
            client().set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": policy})
    except (ClientError, BotoCoreError) as exc:
        raise Unavailable(f"SQS did not answer: {exc}") from exc


def dead_letters() -> int:
    """Messages waiting in the dead-letter queue."""
    try:
        attributes = client().get_queue_attributes(
            QueueUrl=_url(DEAD_LETTERS), AttributeNames=["ApproximateNumberOfMessages"]
        )
    except (ClientError, BotoCoreError) as exc:
        raise Unavailable(f"SQS did not answer: {exc}") from exc
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def ping() -> None:
    try:
        client().list_queues(QueueNamePrefix=get_settings().sqs_queue_prefix, MaxResults=1)
    except (ClientError, BotoCoreError) as exc:
        raise Unavailable(f"SQS did not answer: {exc}") from exc
