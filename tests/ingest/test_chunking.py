from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

import pytest

from oms.ingest.chunking import (
    ChunkSpan,
    count_line_breaks,
    ends_inside_quotes,
    split_into_chunks,
)

from .helpers import blocks_of, reference_records

BLOCK_SIZES = (1, 2, 3, 7, 1 << 20)


def _split(data: bytes, rows: int, block: int, offset: int = 0, line: int = 2) -> list[ChunkSpan]:
    return list(split_into_chunks(blocks_of(data, block), offset, rows, line))


def _assert_chunks_match_reference(
    data: bytes, chunks: list[ChunkSpan], rows_per_chunk: int, first_line: int = 2
) -> None:
    """The chunks tile the data, hold the right counts, and re-parse to the same records."""
    expected = reference_records(data, first_line)
    if not expected:
        assert chunks == []
        return
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].start == 0
    assert chunks[-1].end == len(data)
    for before, after in itertools.pairwise(chunks):
        assert before.end == after.start
        assert data[after.start] not in b"\r\n"  # later chunks start at a record
    assert all(c.rows == rows_per_chunk for c in chunks[:-1])
    assert 1 <= chunks[-1].rows <= rows_per_chunk
    seen = []
    for chunk in chunks:
        records = reference_records(data[chunk.start : chunk.end], chunk.first_line)
        assert len(records) == chunk.rows
        seen += records
    assert seen == expected


CASES = {
    "quoted commas": b'1,"a, b",x\n2,"c,d,e",y\n3,plain,z\n',
    "quoted lf": b'1,"line one\nline two",x\n2,"a\n\nb",y\n3,c,z\n',
    "quoted crlf": b'1,"line one\r\nline two",x\r\n2,"\r\n",y\r\n3,c,z\r\n',
    "doubled quotes": b'1,"say ""hi""",x\n2,"""",y\n3,"a""\nb""",z\n',
    "crlf everywhere": b"1,a,x\r\n2,b,y\r\n3,c,z\r\n4,d,w\r\n",
    "lone cr": b"1,a,x\r2,b,y\r3,c,z\r",
    "mixed terminators": b"1,a\n2,b\r\n3,c\r4,d\n",
    "blank lines": b"\n\n1,a\n\n2,b\r\n\r\n\r\n3,c\n\n",
    "no final newline": b"1,a\n2,b\n3,c",
    "no final newline quoted": b'1,a\n2,"b\nc"',
    "literal quote in unquoted field": b'1,27" monitor,x\n2,5" cable,"y"\n3,a"b"c,z\n',
    "text after closing quote": b'1,"ab"c,x\n2,"a"\n3,"x" "y",z\n',
    "unclosed quote at end": b'1,a\n2,"never closed\n3,c\n4,d\n',
    "empty quoted records": b'""\n""\n"",""\n',
    "only commas": b",\n,,\n,,,\n",
    "spaces are content": b" \n  \n\t\n",
    "utf8": '1,Zoë,"Café, Paris"\n2,日本,x\n'.encode(),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("block", BLOCK_SIZES)
@pytest.mark.parametrize("rows_per_chunk", [1, 2, 3, 1000])
def test_chunks_agree_with_csv_reader(name: str, block: int, rows_per_chunk: int) -> None:
    data = CASES[name]

    chunks = _split(data, rows_per_chunk, block)

    _assert_chunks_match_reference(data, chunks, rows_per_chunk)


@pytest.mark.parametrize("name", CASES)
def test_every_two_block_split_gives_the_same_chunks(name: str) -> None:
    data = CASES[name]
    whole = _split(data, 2, len(data))

    for cut in range(1, len(data)):
        assert list(split_into_chunks([data[:cut], data[cut:]], 0, 2, 2)) == whole, cut


def test_exact_chunk_sizes_and_line_numbers() -> None:
    rows = [f"{i},item {i}\n".encode() for i in range(10)]
    data = b"".join(rows)
    offset = 100

    chunks = list(split_into_chunks(blocks_of(data, 4), offset, 3, 2))

    starts = [offset + sum(len(r) for r in rows[:k]) for k in (0, 3, 6, 9)]
    assert chunks == [
        ChunkSpan(0, starts[0], starts[1], 2, 3),
        ChunkSpan(1, starts[1], starts[2], 5, 3),
        ChunkSpan(2, starts[2], starts[3], 8, 3),
        ChunkSpan(3, starts[3], offset + len(data), 11, 1),
    ]


def test_line_numbers_count_quoted_line_breaks_and_blank_lines() -> None:
    data = b'1,"a\r\nb"\n\n2,x\r\n3,"c\nd\re"\n4,y\n'

    chunks = _split(data, 1, 3)

    assert [c.first_line for c in chunks] == [2, 5, 6, 9]
    assert [c.rows for c in chunks] == [1, 1, 1, 1]


def test_blank_lines_between_chunks_belong_to_the_earlier_chunk() -> None:
    data = b"1,a\n\n\n2,b\n\n"

    chunks = _split(data, 1, 1 << 20)

    assert [(c.start, c.end, c.first_line) for c in chunks] == [(0, 6, 2), (6, 11, 5)]


def test_first_line_follows_the_header() -> None:
    chunks = _split(b"1,a\n2,b\n", 1, 1 << 20, line=7)

    assert [c.first_line for c in chunks] == [7, 8]


def test_rows_exactly_filling_chunks_make_no_empty_last_chunk() -> None:
    data = b"1\n2\n3\n4\n\n\n"

    for block in BLOCK_SIZES:
        chunks = _split(data, 2, block)
        assert [(c.rows, c.end) for c in chunks] == [(2, 4), (2, len(data))]


@pytest.mark.parametrize("data", [b"", b"\n", b"\r\n\r\n", b"\r\r\n\n"])
def test_no_records_no_chunks(data: bytes) -> None:
    for block in BLOCK_SIZES:
        assert _split(data, 5, block) == []


def test_empty_blocks_are_ignored() -> None:
    chunks = list(split_into_chunks([b"", b"1,a\r", b"", b"\n2,b", b""], 0, 1, 2))

    assert [(c.start, c.end, c.first_line) for c in chunks] == [(0, 5, 2), (5, 8, 3)]


def test_rows_per_chunk_must_be_positive() -> None:
    with pytest.raises(ValueError):
        list(split_into_chunks([b"1\n"], 0, 0))


def test_chunks_are_yielded_while_streaming() -> None:
    consumed = 0

    def stream() -> Iterator[bytes]:
        nonlocal consumed
        for _ in range(1000):
            consumed += 1
            yield b'1,"a\nb",c\n' * 10

    chunks = split_into_chunks(stream(), 0, 10, 2)

    first = next(chunks)
    assert first.rows == 10
    assert consumed <= 2  # a chunk is known as soon as the next record starts
    assert sum(1 for _ in chunks) + 1 == 1000


def _random_field(rng: random.Random, quote_rate: float) -> str:
    if rng.random() < quote_rate:
        body = "".join(
            rng.choice(["a", "b", ",", '"', "\n", "\r\n", "\r", " ", "é"])
            for _ in range(rng.randint(0, 6))
        )
        field = '"' + body.replace('"', '""') + '"'
        if rng.random() < 0.05:
            field += rng.choice(["x", '"y'])  # malformed: text after the closing quote
        return field
    chars = ["a", "b", " ", "ü"] + (['"'] if rng.random() < 0.1 else [])
    return "".join(rng.choice(chars) for _ in range(rng.randint(0, 5)))


def _random_csv(rng: random.Random, quote_rate: float) -> bytes:
    parts = []
    for _ in range(rng.randint(0, 15)):
        if rng.random() < 0.1:
            parts.append(rng.choice(["\n", "\r\n", "\r"]))  # blank line
            continue
        fields = [_random_field(rng, quote_rate) for _ in range(rng.randint(1, 4))]
        parts.append(",".join(fields) + rng.choice(["\n", "\r\n", "\n", "\r\n", "\r"]))
    if parts and rng.random() < 0.3:
        parts[-1] = parts[-1].rstrip("\r\n")
    if rng.random() < 0.05:
        parts.append('"unclosed\nrest')
    return "".join(parts).encode()


@pytest.mark.parametrize("quote_rate", [0.05, 0.5, 0.95])
def test_random_files_agree_with_csv_reader(quote_rate: float) -> None:
    rng = random.Random(20250131)
    for _ in range(400):
        data = _random_csv(rng, quote_rate)
        block = rng.choice([1, 2, 3, 5, 7, 16, 64, len(data) or 1])
        rows_per_chunk = rng.choice([1, 2, 3, 4, 7, 100])
        chunks = _split(data, rows_per_chunk, block)
        _assert_chunks_match_reference(data, chunks, rows_per_chunk)


def test_large_quote_heavy_file_with_1_mib_blocks() -> None:
    line = b'"ORD-1","Jane ""JD"" Doe","1 Main St,\r\nTown",3,"9.99"\r\n'
    data = line * 50_000

    chunks = list(split_into_chunks(blocks_of(data, 1 << 20), 0, 7_000, 2))

    assert [c.rows for c in chunks] == [7_000] * 7 + [1_000]
    assert [c.start for c in chunks] == [k * 7_000 * len(line) for k in range(8)]
    assert [c.first_line for c in chunks] == [2 + k * 14_000 for k in range(8)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", False),
        (b"1,a\n", False),
        (b'1,"a\n', True),
        (b'1,"a"\n', False),
        (b'1,"a""', True),
        (b'1,"a"""', False),
        (b'1,5" screen\n', False),
        (b'1,"a\n2,"b"', False),
    ],
)
def test_ends_inside_quotes(data: bytes, expected: bool) -> None:
    assert ends_inside_quotes(data) is expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", 0), (b"a\nb\n", 2), (b"a\r\nb\r\n", 2), (b"a\rb\r\n\n", 3)],
)
def test_count_line_breaks(data: bytes, expected: int) -> None:
    assert count_line_breaks(data) == expected
