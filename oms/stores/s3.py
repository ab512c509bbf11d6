"""S3 (moto locally, LocalStack or AWS elsewhere): uploads, ranged reads, listings."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.response import StreamingBody

from oms.config import get_settings
from oms.errors import NoBucket, NotFound, Unavailable
from oms.stores.process_local import per_process
from oms.uploads import keys

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # boto3-stubs[s3], a dev dependency
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, ObjectTypeDef

log = logging.getLogger(__name__)

MIN_PART_BYTES = 8 * 1024 * 1024  # S3 rejects parts under 5 MiB (but the last)


@per_process
def client() -> S3Client:
    settings = get_settings()
    return boto3.client(
        "s3",
        endpoint_url=settings.aws_endpoint_url,
        region_name=settings.aws_region,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        config=Config(
            retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"}
        ),
    )


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _translate(exc: Exception, key: str) -> Exception:
    """S3's error as OMS's. The message may reach an API client, so it names neither the
    bucket nor the key (nor does botocore's text, which has the endpoint URL): NotFound
    says what is missing in users' words, Unavailable only what kind of failure it was.
    The log line has the rest."""
    bucket = get_settings().s3_bucket
    if isinstance(exc, ClientError):
        code = _code(exc)
        if code == "NoSuchBucket":
            log.warning("S3 has no bucket %s", bucket)
            return NoBucket(
                "the file store has no bucket for this deployment (it lost its state, or "
                "OMS_S3_BUCKET names none); the API and the workers make it when they start"
            )
        if code in {"NoSuchKey", "404", "NotFound"}:
            log.debug("S3 has no s3://%s/%s (%s)", bucket, key, code)
            return NotFound(keys.missing_message(key))
        detail = code or type(exc).__name__
    else:
        detail = type(exc).__name__
    log.warning("S3 failed on s3://%s/%s: %s", bucket, key, exc)
    return Unavailable(f"S3 did not answer properly ({detail})")


def ping() -> None:
    """The bucket answers (raises Unavailable otherwise)."""
    try:
        client().head_bucket(Bucket=get_settings().s3_bucket)
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, "") from exc


def ensure_bucket(bucket: str | None = None) -> None:
    bucket = bucket or get_settings().s3_bucket
    try:
        client().head_bucket(Bucket=bucket)
    except ClientError:
        try:
            client().create_bucket(Bucket=bucket)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in {
                "BucketAlreadyOwnedByYou",
                "BucketAlreadyExists",
            }:
                raise _translate(exc, "") from exc
    except BotoCoreError as exc:
        raise Unavailable(f"S3 unreachable: {exc}") from exc


def put_bytes(key: str, data: bytes, content_type: str = "text/csv") -> None:
    try:
        client().put_object(
            Bucket=get_settings().s3_bucket, Key=key, Body=data, ContentType=content_type
        )
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, key) from exc


def get_range(key: str, start: int, end: int) -> bytes:
    """Bytes [start, end) of an object (an HTTP ranged GET)."""
    if end <= start:
        return b""
    try:
        response = client().get_object(
            Bucket=get_settings().s3_bucket, Key=key, Range=f"bytes={start}-{end - 1}"
        )
        return response["Body"].read()
    except ClientError as exc:
        if _code(exc) == "InvalidRange":
            return b""  # the object ends before ``start`` (an empty file, say)
        raise _translate(exc, key) from exc
    except BotoCoreError as exc:
        raise _translate(exc, key) from exc


def read(key: str) -> bytes:
    """A whole (small) object: a chunk's part file, never an uploaded order file."""
    try:
        return client().get_object(Bucket=get_settings().s3_bucket, Key=key)["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, key) from exc


def size(key: str) -> int:
    try:
        return client().head_object(Bucket=get_settings().s3_bucket, Key=key)["ContentLength"]
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, key) from exc


def iter_blocks(key: str, start: int = 0, block: int = 1024 * 1024) -> Iterator[bytes]:
    """Stream an object from ``start`` to its end in blocks, holding one block at a time."""
    try:
        response = client().get_object(
            Bucket=get_settings().s3_bucket, Key=key, Range=f"bytes={start}-"
        )
        yield from response["Body"].iter_chunks(block)
    except ClientError as exc:
        if _code(exc) == "InvalidRange":
            return  # start is at (or past) the end: nothing left to read
        raise _translate(exc, key) from exc
    except BotoCoreError as exc:
        raise _translate(exc, key) from exc


def open_stream(key: str) -> StreamingBody:
    """A readable stream of the whole object, for sending it to a client."""
    try:
        return client().get_object(Bucket=get_settings().s3_bucket, Key=key)["Body"]
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, key) from exc


def list_keys(prefix: str) -> Iterator[ObjectTypeDef]:
    paginator = client().get_paginator("list_objects_v2")
    try:
        for page in paginator.paginate(Bucket=get_settings().s3_bucket, Prefix=prefix):
            yield from page.get("Contents", [])
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, prefix) from exc


class MultipartWriter:
    """Write an object of any size as an S3 multipart upload in bounded memory.

    Bytes are spooled to a temporary file until a part is full (S3 wants parts of 5 MiB
    or more, but the last); the part is then sent from the file, so memory does not grow
    with the part size either. Use as a context manager: leaving the block normally
    completes the object, leaving it with an exception (or calling ``abort``) removes
    every part already sent.
    """

    def __init__(
        self, key: str, content_type: str = "text/csv", part_bytes: int = MIN_PART_BYTES
    ) -> None:
        self.key = key
        self.size = 0
        self._part_bytes = part_bytes
        self._spool = tempfile.TemporaryFile()  # noqa: SIM115  (closed by complete/abort)
        self._parts: list[CompletedPartTypeDef] = []
        self._bucket = get_settings().s3_bucket
        try:
            self._upload_id = client().create_multipart_upload(
                Bucket=self._bucket, Key=key, ContentType=content_type
            )["UploadId"]
        except (ClientError, BotoCoreError) as exc:
            self._spool.close()
            raise _translate(exc, key) from exc

    def write(self, data: bytes) -> None:
        self._spool.write(data)
        self.size += len(data)
        if self._spool.tell() >= self._part_bytes:
            self._send()

    def _send(self) -> None:
        number = len(self._parts) + 1
        length = self._spool.tell()
        self._spool.seek(0)
        try:
            response = client().upload_part(
                Bucket=self._bucket,
                Key=self.key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=self._spool,
                ContentLength=length,
            )
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, self.key) from exc
        self._parts.append({"ETag": response["ETag"], "PartNumber": number})
        self._spool.seek(0)
        self._spool.truncate()

    def complete(self) -> None:
        if self._spool.tell() or not self._parts:
            self._send()
        self._spool.close()
        try:
            client().complete_multipart_upload(
                Bucket=self._bucket,
                Key=self.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, self.key) from exc

    def abort(self) -> None:
        self._spool.close()
        try:
            client().abort_multipart_upload(
                Bucket=self._bucket, Key=self.key, UploadId=self._upload_id
            )
        except (ClientError, BotoCoreError) as exc:
            log.warning("could not abort multipart upload of %s: %s", self.key, exc)

    def __enter__(self) -> MultipartWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.complete()
        else:
            self.abort()
