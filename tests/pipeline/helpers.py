"""Shared steps of the pipeline tests: upload through the API, wait, read Kafka back."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer

TERMINAL = {"completed", "failed", "rejected", "cancelled"}


def queued_upload(name: str, rows: list[dict], chunk_rows: int = 10) -> str:
    """An upload in S3 and MongoDB, queued, as POST /upload leaves it (no split sent)."""
    from oms.stores import s3
    from oms.uploads import keys
    from oms.uploads import repository as repo
    from tests.pipeline.rows import to_csv

    upload_id = uuid.uuid4().hex
    data = to_csv(rows)
    key = keys.upload_key(upload_id, name)
    s3.put_bytes(key, data)
    repo.create_upload(
        upload_id, filename=name, key=key, size=len(data), sha256="-", chunk_rows=chunk_rows
    )
    return upload_id


def stored_upload(name: str, rows: list[dict], chunk_rows: int = 10) -> str:
    """An upload in S3 and MongoDB, split into chunks, as ingest_upload leaves it."""
    from oms.pipeline import split

    upload_id = queued_upload(name, rows, chunk_rows)
    assert split.split_upload(upload_id).action == "start"
    return upload_id


def upload_bytes(api, name: str, data: bytes, **query) -> dict:
    response = api.post(
        "/upload",
        query_string=query,
        data={"file": (io.BytesIO(data), name, "text/csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def upload_file(api, path: Path, **query) -> dict:
    return upload_bytes(api, path.name, path.read_bytes(), **query)


def wait_for_upload(api, upload_id: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get(f"/uploads/{upload_id}").get_json()
        if body["status"] in TERMINAL:
            return body
        time.sleep(0.3)
    raise AssertionError(f"upload {upload_id} still {body['status']} after {timeout}s: {body}")


def invalid_rows(api, upload: dict) -> list[dict]:
    response = api.get(upload["invalid_file_url"])
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def read_topic(
    bootstrap: str, topic: str, expect: int, idle_s: float = 5.0, limit_s: float = 120.0
) -> list[dict]:
    """Every message of ``topic`` from the start, until ``idle_s`` passes with nothing new
    after ``expect`` were seen (so extra messages would be caught too)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"t-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    consumer.subscribe([topic])
    messages: list[dict] = []
    deadline = time.monotonic() + limit_s
    last_new = time.monotonic()
    try:
        while time.monotonic() < deadline:
            batch = consumer.consume(1000, timeout=0.5)
            fresh = [m for m in batch if m.error() is None]
            for message in fresh:
                messages.append(
                    {"key": message.key().decode(), "value": json.loads(message.value())}
                )
            if fresh:
                last_new = time.monotonic()
            elif len(messages) >= expect and time.monotonic() - last_new > idle_s:
                break
    finally:
        consumer.close()
    return messages
