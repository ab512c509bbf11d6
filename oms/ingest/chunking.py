"""Split the data part of an order CSV into byte ranges of a fixed number of records.

The file is streamed block by block (e.g. 1 MiB ranged reads from S3) and never held
whole: memory is flat in file size. Boundaries follow the csv module's rules exactly, so
each chunk can later be parsed on its own with ``csv.reader``:

* a quote opens a quoted field only at the start of a field (after a comma or a line
  break); elsewhere it is an ordinary character, as in ``27" monitor``;
* inside a quoted field, commas, line breaks and doubled quotes ``""`` are data;
* a record ends at ``\\n``, ``\\r\\n`` or a lone ``\\r`` outside quotes;
* a blank line is not a record, but it still counts as a physical line.

Speed comes from letting C loops do the scanning, never a Python loop per byte:

* quote-light blocks: a quote-free stretch is consumed with one ``bytes.count`` of its
  newlines; Python runs once per quote and once per chunk boundary;
* quote-heavy blocks (more than one quote per two newlines): a record regex, run with
  ``scanner().match`` inside ``list()``, consumes every complete record of the block;
  the state machine only finishes the record cut by the previous block boundary and
  starts the one cut by the next;
* quote-light blocks with blank lines or lone carriage returns are walked line by line
  with a regex instead of counted.

Both block strategies give identical results; the choice is only about speed.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_QUOTE = 0x22
_COMMA = 0x2C
_LF = 0x0A
_CR = 0x0D
_NONE = -1  # "no previous byte": the start of the data, i.e. the start of a record

_TERMINATOR = re.compile(rb"\r\n|\r|\n")
_BLANK_LINES = re.compile(rb"[\r\n]*")
# One complete record as the csv module reads it, plus the blank lines after it. Runs of
# ordinary characters and commas go in one step; a quote opens a quoted field only at the
# start of a field (after a comma or a line break, or at the very start of the block, the
# only places _consume_records starts from); anywhere else it is an ordinary character.
# Possessive quantifiers keep matching linear; a quoted field left open at the end of the
# block makes the match fail, and that incomplete record is left to the state machine.
_RECORD = re.compile(
    rb"(?![\r\n])"
    rb"(?:[^\"\r\n]++"
    rb'|(?:(?<=[,\r\n])|\A)"[^"]*+(?:""[^"]*+)*+"'
    rb'|(?<![,\r\n])(?!\A)")*+'
    rb"(?:\r\n|\n|\r)[\r\n]*+"
)

# Scanner modes.
_OUT = 0  # outside any quoted field
_QUOTED = 1  # inside a quoted field
_QUOTE_PENDING = 2  # a block ended on a quote inside a quoted field: close or ""?


@dataclass(frozen=True)
class ChunkSpan:
    """Byte range ``[start, end)`` of the file holding ``rows`` non-blank records.

    ``first_line`` is the 1-based physical line number (the header is line 1) of the byte
    at ``start``. Every chunk after the first starts exactly at its first record; the
    first chunk starts at the header's ``data_offset``, so it can begin with blank lines.
    """

    index: int
    start: int
    end: int
    first_line: int
    rows: int


def split_into_chunks(
    blocks: Iterable[bytes], data_offset: int, rows_per_chunk: int, first_line: int = 2
) -> Iterator[ChunkSpan]:
    """Yield consecutive chunks of ``rows_per_chunk`` records (the last may hold fewer).

    ``blocks`` are consecutive pieces of the file starting at byte ``data_offset``; a
    quoted field or a ``\\r\\n`` pair may straddle two blocks. ``first_line`` is the line
    number at ``data_offset`` (``Header.data_line``). The chunks tile the data exactly:
    chunk k ends where chunk k+1 starts and the last one ends at the end of the file.
    Blank lines between two chunks belong to the earlier one. A file without records
    yields nothing.
    """
    if rows_per_chunk < 1:
        raise ValueError("rows_per_chunk must be at least 1")
    splitter = _Splitter(data_offset, rows_per_chunk, first_line)
    for block in blocks:
        if block:
            yield from splitter.feed(block)
    yield from splitter.finish()


def first_record_end(data: bytes, start: int, whole: bool) -> int | None:
    """Offset just after the first record of ``data`` at ``start`` (a record start) and
    the blank lines after it; None when ``data`` may end before the record does (it is
    not ``whole`` and the record or its terminator reaches its end). A whole ``data``
    whose last record has no terminator ends with it."""
    match = _RECORD.match(data, start)
    if match is not None and (whole or match.end() < len(data)):
        return match.end()
    return len(data) if whole else None


def ends_inside_quotes(data: bytes) -> bool:
    """Say whether ``data`` (records from a record start) ends inside an unclosed quoted field."""
    splitter = _Splitter(0, sys.maxsize, 1)
    splitter.feed(data)
    return splitter.mode == _QUOTED


def count_line_breaks(data: bytes, start: int = 0, end: int | None = None) -> int:
    """Count line breaks in ``data[start:end]`` like the csv module: \\r\\n, \\n, lone \\r."""
    if end is None:
        end = len(data)
    lf = data.count(b"\n", start, end)
    cr = data.count(b"\r", start, end)
    return lf + cr - data.count(b"\r\n", start, end) if cr else lf


class _Splitter:
    """Incremental scanner; ``feed`` returns the chunks completed by each block."""

    def __init__(self, data_offset: int, rows_per_chunk: int, first_line: int) -> None:
        self.rows_per_chunk = rows_per_chunk
        self.mode = _OUT
        self.has_content = False  # the current record has at least one character
        self.seeking = False  # the chunk is full; cut at the next record's first byte
        self.rows = 0  # records completed in the current chunk
        self.index = 0
        self.chunk_start = data_offset
        self.chunk_line = first_line
        self.block_start = data_offset  # file offset of the current block
        self.block_line = first_line  # line number at the start of the current block
        self.last_byte = _NONE
        self.lead_lf = False  # the block starts with the "\n" of a split "\r\n"
        self.done: list[ChunkSpan] = []

    def feed(self, block: bytes) -> list[ChunkSpan]:
        """Scan one block; return the chunks whose end is now known."""
        n = len(block)
        self.done = []
        if not n:
            return self.done
        self.lead_lf = self.last_byte == _CR and block[0] == _LF
        i = 1 if self.lead_lf and self.mode == _OUT else 0
        lf = block.count(b"\n")
        cr = block.count(b"\r")
        crlf = block.count(b"\r\n") if cr else 0
        quotes = block.count(b'"')
        if quotes * 2 > lf:
            # Quote-heavy: finish the record in progress, let the record regex consume
            # every complete record, then scan the incomplete one left at the end.
            if self.mode != _OUT or self.has_content:
                i = self._scan(block, i, simple=False, stop_after_record=True)
            if i < n:
                i = self._consume_records(block, i)
            self._scan(block, i, simple=False)
        else:
            self._scan(block, i, simple=self._is_simple(block, i, cr, crlf))
        self.block_line += lf + cr - crlf - self.lead_lf
        self.block_start += n
        self.last_byte = block[-1]
        return self.done

    def _scan(self, block: bytes, i: int, simple: bool, stop_after_record: bool = False) -> int:
        """Run the state machine over ``block[i:]``; return where it stopped.

        With ``stop_after_record`` it stops just after the first line break that ends a
        record outside quotes (or at the end of the block).
        """
        n = len(block)
        while i < n:
            if self.mode == _OUT:
                q = block.find(b'"', i)
                stop = n if q < 0 else q
                if stop > i:
                    if stop_after_record:
                        m = _TERMINATOR.search(block, i, stop)
                        if m:
                            self._walk(block, i, m.end())
                            return m.end()
                    if simple:
                        self._count_simple(block, i, stop)
                    else:
                        self._walk(block, i, stop)
                if q < 0:
                    break
                if self.seeking:
                    self._cut(block, q)
                self.has_content = True
                prev = block[q - 1] if q else self.last_byte
                if prev in (_COMMA, _LF, _CR, _NONE):
                    self.mode = _QUOTED
                i = q + 1  # otherwise a literal quote inside an unquoted field
            elif self.mode == _QUOTED:
                close = block.find(b'"', i)
                if close < 0:
                    break
                if close + 1 == n:
                    self.mode = _QUOTE_PENDING
                    break
                if block[close + 1] == _QUOTE:  # "" is an escaped quote
                    i = close + 2
                else:
                    self.mode = _OUT
                    i = close + 1
            else:  # _QUOTE_PENDING, at the start of a block
                if block[i] == _QUOTE:
                    self.mode = _QUOTED
                    i += 1
                else:
                    self.mode = _OUT
        return n

    def _consume_records(self, block: bytes, i: int) -> int:
        """From a record start, count the complete records of ``block`` with ``_RECORD``.

        Returns where the first incomplete record (or the end of the block) begins.
        """
        n = len(block)
        start = _BLANK_LINES.match(block, i).end()  # type: ignore[union-attr]
        if start == n:
            return n
        if self.seeking:
            self._cut(block, start)
        # Pattern.scanner exists (CPython's sre) but typeshed does not declare it.
        matches = list(iter(_RECORD.scanner(block, start).match, None))  # type: ignore[attr-defined]
        left = len(matches)
        k = 0
        while left:
            need = self.rows_per_chunk - self.rows
            if left < need:
                self.rows += left
                break
            k += need
            left -= need
            self.rows = self.rows_per_chunk
            end = matches[k - 1].end()  # just after the record and any blank lines
            if end == n:
                self.seeking = True
                break
            self._cut(block, end)
        return matches[-1].end() if matches else start

    def finish(self) -> list[ChunkSpan]:
        """Return the last chunk, ending at the end of the file (if it has any record)."""
        rows = self.rows + (1 if self.has_content else 0)
        if not rows:
            return []
        return [ChunkSpan(self.index, self.chunk_start, self.block_start, self.chunk_line, rows)]

    def _is_simple(self, block: bytes, i: int, cr: int, crlf: int) -> bool:
        """True if every line break in ``block`` ends a non-blank line and is "\\n" or "\\r\\n".

        Then a stretch of the block outside quotes holds exactly as many records as
        newlines, and ``bytes.count`` can stand in for a line-by-line walk.
        """
        at_blank_line = i < len(block) and (block[i] == _LF or block[i] == _CR)
        if self.mode == _OUT and not self.has_content and at_blank_line:
            return False
        if block[-1] == _CR or b"\n\n" in block:
            return False
        return not cr or (cr == crlf and b"\n\r" not in block and b"\r\r" not in block)

    def _count_simple(self, block: bytes, a: int, b: int) -> None:
        """Consume a quote-free stretch outside quotes of a simple block."""
        if self.seeking:  # in a simple block a stretch never starts with a blank line
            self._cut(block, a)
        newlines = block.count(b"\n", a, b)
        pos = a
        while True:
            need = self.rows_per_chunk - self.rows
            if newlines < need:
                self.rows += newlines
                break
            p = pos - 1
            for _ in range(need):
                p = block.find(b"\n", p + 1)
            p += 1
            newlines -= need
            self.rows = self.rows_per_chunk
            if p == b:
                self.seeking = True
                break
            self._cut(block, p)
            pos = p
        self.has_content = block[b - 1] != _LF

    def _walk(self, block: bytes, a: int, b: int) -> None:
        """Consume a quote-free stretch outside quotes line by line (general case)."""
        cur = a
        for m in _TERMINATOR.finditer(block, a, b):
            if m.start() > cur:
                if self.seeking:
                    self._cut(block, cur)
                self.has_content = True
            if self.has_content:  # else a blank line
                self.has_content = False
                self.rows += 1
                if self.rows == self.rows_per_chunk:
                    self.seeking = True
            cur = m.end()
        if b > cur:
            if self.seeking:
                self._cut(block, cur)
            self.has_content = True

    def _cut(self, block: bytes, at: int) -> None:
        """End the current (full) chunk before ``block[at]``, where the next record starts."""
        line = self.block_line + count_line_breaks(block, 0, at)
        if self.lead_lf and at:
            line -= 1
        end = self.block_start + at
        self.done.append(ChunkSpan(self.index, self.chunk_start, end, self.chunk_line, self.rows))
        self.index += 1
        self.chunk_start = end
        self.chunk_line = line
        self.rows = 0
        self.seeking = False
