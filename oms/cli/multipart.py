"""A multipart/form-data request body of one file, read from disk while it is sent.

requests would build a multipart body in memory (``files=``); an order file may be
gigabytes, so the body is an iterable of blocks instead. It also has a length, so requests
sends a Content-Length rather than a chunked body.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

from oms.cli.errors import CliError, ExitCode

BLOCK_BYTES = 256 * 1024


class FileChanged(CliError):
    """The file's size changed while it was being sent: the API got a broken upload."""

    exit_code = ExitCode.UPLOAD_FAILED


class MultipartFile:
    """``iter()`` yields the part's headers, the file in blocks, then the closing boundary.

    ``on_block(n)`` is called with each block's size as it is handed to the connection,
    to drive a progress bar. Iterating again re-reads the file (a re-sent request).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        field: str = "file",
        content_type: str = "text/csv",
        block_bytes: int = BLOCK_BYTES,
        on_block: Callable[[int], None] | None = None,
        boundary: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self.block_bytes = block_bytes
        self.on_block = on_block
        self.boundary = boundary or f"oms-{secrets.token_hex(16)}"
        filename = quote_filename(self.path.name)
        self.preamble = (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        self.epilogue = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.preamble) + self.size + len(self.epilogue)

    def __iter__(self) -> Iterator[bytes]:
        yield self.preamble
        sent = 0
        with self.path.open("rb") as file:
            while block := file.read(min(self.block_bytes, self.size - sent)):
                sent += len(block)
                if self.on_block:
                    self.on_block(len(block))
                yield block
            if sent != self.size or file.read(1):
                raise FileChanged(f"{self.path} changed size while it was being uploaded")
        yield self.epilogue


def quote_filename(name: str) -> str:
    """The file name as browsers write it in a form part: UTF-8, with the characters that
    would end the quoted string or the header line percent-encoded (HTML spec)."""
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
