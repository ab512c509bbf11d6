"""Receiving an uploaded file: stream a multipart request body straight into S3.

The body is parsed incrementally (werkzeug's sans-IO multipart decoder) and the file part
is written to an S3 multipart upload as it arrives, so the API holds one S3 part (8 MiB)
at most, whatever the file's size. The first bytes are checked before anything is stored:
a file that is empty, not CSV, or lacks required columns is refused at once.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, File, MultipartDecoder, NeedData

from oms.config import get_settings
from oms.errors import OMSError
from oms.ingest.header import HEAD_BYTES, Header, HeaderError, read_header
from oms.stores import blocking, s3
from oms.uploads import keys, spreadsheet

READ_BYTES = 256 * 1024
CSV_TYPES = {
    "text/csv",
    "application/csv",
    "text/plain",
    "application/vnd.ms-excel",
    "application/octet-stream",
    "",
}


class UploadRefused(OMSError):
    """The request cannot become an upload; nothing was stored or queued."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


@dataclass(frozen=True)
class ReceivedFile:
    upload_id: str
    filename: str
    key: str
    size: int
    sha256: str
    header: Header


def safe_filename(name: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1].strip()
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base)[:120].strip(". ")
    return base or "upload.csv"


def receive_upload(
    stream: IO[bytes],
    content_type: str,
    max_bytes: int,
    field: str = "file",
    refuse: Callable[[str], None] | None = None,
    mapping: Mapping[str, str] | None = None,
) -> ReceivedFile:
    """Read the multipart body from ``stream``; store its ``field`` file in S3.
    ``refuse`` is given the file's sha256 once it is read, before the file is stored:
    it raises UploadRefused to refuse the file (nothing stays in S3). ``mapping`` (file
    column -> OMS column) is how the header is read."""
    mimetype, options = parse_options_header(content_type or "")
    if mimetype != "multipart/form-data":
        raise UploadRefused(
            415, "not_multipart", f"send the file as multipart/form-data in a field named '{field}'"
        )
    boundary = options.get("boundary")
    if not boundary:
        raise UploadRefused(400, "bad_request", "multipart body without a boundary")
    # The limit bounds the decoder's buffer (one read plus a partial event), not the file.
    decoder = MultipartDecoder(boundary.encode(), max_form_memory_size=4 * READ_BYTES, max_parts=16)
    receiver: _FileReceiver | _SpreadsheetReceiver | None = None
    in_file = False
    done = False
    try:
        while not done:
            block = stream.read(READ_BYTES)
            decoder.receive_data(block or None)
            while True:
                try:
                    event = decoder.next_event()
                except ValueError as exc:  # werkzeug: "Invalid form-data ...", a broken body
                    raise UploadRefused(
                        400, "bad_request", "the multipart body is malformed"
                    ) from exc
                if isinstance(event, NeedData):
                    break
                if isinstance(event, Epilogue):
                    done = True
                    break
                if isinstance(event, File):
                    in_file = event.name == field and receiver is None
                    if in_file:
                        receiver = _receiver_for(event, max_bytes, mapping)
                elif isinstance(event, Data):
                    if in_file and receiver is not None:
                        receiver.write(event.data)
                        if not event.more_data:
                            in_file = False
                else:
                    in_file = False
            if not block:
                break
        if receiver is None:
            raise UploadRefused(400, "no_file", f"the request has no file field '{field}'")
        return receiver.finish(refuse)
    except BaseException:
        if receiver is not None:
            receiver.abort()
        raise


def _receiver_for(
    event: File, max_bytes: int, mapping: Mapping[str, str] | None
) -> _FileReceiver | _SpreadsheetReceiver:
    filename = safe_filename(event.filename)
    part_type = parse_options_header(event.headers.get("Content-Type", ""))[0]
    if spreadsheet.is_spreadsheet(filename, part_type):
        return _SpreadsheetReceiver(filename, max_bytes, mapping)
    if not filename.lower().endswith(".csv") and part_type not in CSV_TYPES - {""}:
        raise UploadRefused(
            415,
            "not_csv",
            f"{filename!r} is not a CSV file (expected a .csv file, or an .xlsx workbook)",
        )
    return _FileReceiver(filename, max_bytes, mapping)


class _FileReceiver:
    """Holds the first bytes until they are checked, then streams to S3."""

    def __init__(
        self,
        filename: str,
        max_bytes: int,
        mapping: Mapping[str, str] | None = None,
        stored_as: str | None = None,
    ) -> None:
        self.filename = filename
        self.max_bytes = max_bytes
        self.mapping = mapping
        self.upload_id = uuid.uuid4().hex
        self.key = keys.upload_key(self.upload_id, stored_as or filename)
        self.size = 0
        self.digest = hashlib.sha256()
        self.head = bytearray()
        self.header: Header | None = None
        self.writer: s3.MultipartWriter | None = None

    def write(self, data: bytes) -> None:
        self.size = _counted(self.size + len(data), self.max_bytes)
        self.digest.update(data)
        if self.writer is None:
            self.head += data
            if len(self.head) >= HEAD_BYTES:
                self._start()
        else:
            self.writer.write(data)

    def _start(self) -> None:
        self.header = check_head(bytes(self.head[:HEAD_BYTES]), self.filename, self.mapping)
        self.writer = s3.MultipartWriter(self.key)
        self.writer.write(bytes(self.head))
        self.head = bytearray()

    def finish(self, refuse: Callable[[str], None] | None) -> ReceivedFile:
        if self.writer is None:
            self._start()
        assert self.writer is not None and self.header is not None  # both set by _start
        if refuse is not None:
            refuse(self.digest.hexdigest())  # raising here aborts the S3 upload
        self.writer.complete()
        return ReceivedFile(
            self.upload_id, self.filename, self.key, self.size, self.digest.hexdigest(), self.header
        )

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()


class _SpreadsheetReceiver:
    """An .xlsx file: spooled to a temporary file as it arrives (a workbook is a zip,
    read from its end), then its first sheet streamed, as CSV, through a _FileReceiver
    (oms/uploads/spreadsheet.py). The upload's sha256 is the workbook's."""

    def __init__(self, filename: str, max_bytes: int, mapping: Mapping[str, str] | None) -> None:
        self.filename = filename
        self.max_bytes = max_bytes
        self.mapping = mapping
        self.size = 0
        self.digest = hashlib.sha256()
        self.spool = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 (closed in finish/abort)
        self.csv: _FileReceiver | None = None

    def write(self, data: bytes) -> None:
        self.size = _counted(self.size + len(data), self.max_bytes)
        self.digest.update(data)
        self.spool.write(data)

    def finish(self, refuse: Callable[[str], None] | None) -> ReceivedFile:
        sha256 = self.digest.hexdigest()
        if refuse is not None:
            refuse(sha256)
        self.spool.flush()
        self.csv = _FileReceiver(
            self.filename, self.max_bytes, self.mapping, stored_as=f"{self.filename}.csv"
        )
        with tempfile.NamedTemporaryFile(suffix=".csv") as converted:
            try:
                # Parsing a workbook is pure CPU for seconds to minutes: in a real thread,
                # so the API's other requests go on meanwhile (gevent worker).
                blocking.off_event_loop(
                    spreadsheet.convert, Path(self.spool.name), Path(converted.name)
                )
            except spreadsheet.NotAWorkbook as exc:
                raise UploadRefused(415, "not_xlsx", f"{self.filename}: {exc}") from exc
            with open(converted.name, "rb") as csv_file:
                while block := csv_file.read(READ_BYTES):
                    self.csv.write(block)
        received = self.csv.finish(None)
        self.spool.close()
        return replace(received, sha256=sha256)

    def abort(self) -> None:
        if self.csv is not None:
            self.csv.abort()
        self.spool.close()


def _counted(size: int, max_bytes: int) -> int:
    """The bytes received so far; 413 once they pass the limit."""
    if size > max_bytes:
        raise UploadRefused(
            413, "too_large", f"the file is larger than the limit of {max_bytes} bytes"
        )
    return size


def check_head(head: bytes, filename: str, mapping: Mapping[str, str] | None = None) -> Header:
    """Refuse a file whose first bytes show it cannot be ingested."""
    try:
        header = read_header(head, max_columns=get_settings().max_columns, mapping=mapping)
    except HeaderError as exc:
        status = 400 if exc.code == "empty_file" else 415 if exc.code == "not_csv" else 422
        raise UploadRefused(status, exc.code, f"{filename}: {exc.message}") from exc
    if header.missing:
        raise UploadRefused(
            422,
            "missing_columns",
            f"{filename}: {header.missing_message()}",
            missing=list(header.missing),
            found=list(header.columns),
            suggestions=header.renaming_hints(),
        )
    return header
