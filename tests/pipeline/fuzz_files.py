"""Hostile order files, generated (hypothesis): what people and programs upload by mistake.

Random bytes; Latin-1 and UTF-16 text; BOMs; mixed line ends; unbalanced quotes; fields of
up to 1 MB; headers of up to 100,000 columns; blank lines; duplicated header names; NULs
and other control characters; and, among them, rows that are perfectly good. Used by the
suite (a few dozen files) and by `benchmarks/fuzz.py` (10,000).
"""

from __future__ import annotations

from hypothesis import strategies as st

from oms.ingest.header import REQUIRED_COLUMNS
from tests.pipeline.rows import valid_row

LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])
ODD_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@st.composite
def _cell(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["good", "odd", "quote", "long", "control"]))
    if kind == "odd":
        return draw(ODD_TEXT)
    if kind == "quote":
        return draw(st.sampled_from(['"', 'a"b', '"open', 'x""y', '""']))
    if kind == "long":
        return "z" * draw(st.sampled_from([2_000, 70_000, 1_000_000]))
    if kind == "control":
        return "a" + draw(st.sampled_from(["\x00", "\x01", "\x1b", "\x7f"])) + "b"
    return "ok"


@st.composite
def _header(draw: st.DrawFn) -> list[str]:
    columns = list(REQUIRED_COLUMNS)
    kind = draw(
        st.sampled_from(["contract", "shuffled", "missing", "duplicated", "wide", "extra", "cased"])
    )
    if kind == "shuffled":
        columns = draw(st.permutations(columns))
    elif kind == "missing":
        drop = draw(st.sets(st.sampled_from(columns), min_size=1, max_size=5))
        columns = [c for c in columns if c not in drop]
    elif kind == "duplicated":
        columns = columns + [draw(st.sampled_from(columns))]
    elif kind == "wide":
        columns = columns + [f"c{n}" for n in range(draw(st.sampled_from([300, 100_000])))]
    elif kind == "extra":
        columns = columns + draw(st.lists(ODD_TEXT, max_size=3))
    elif kind == "cased":
        columns = [c.upper() if draw(st.booleans()) else f" {c} " for c in columns]
    return list(columns)


def _quote(cell: str) -> str:
    return f'"{cell}"' if any(c in cell for c in ',"\r\n') else cell


@st.composite
def csv_text(draw: st.DrawFn) -> str:
    """A CSV-ish text: a header (often right) and rows (some good, some hostile)."""
    header = draw(_header())
    end = draw(LINE_ENDS)
    lines = [",".join(header)]
    prefix = f"FZ{draw(st.integers(0, 10**9))}"
    for n in range(draw(st.integers(0, 30))):
        shape = draw(st.sampled_from(["good", "good", "broken", "blank", "short", "long"]))
        if shape == "blank":
            lines.append("")
            continue
        row = valid_row(n, prefix=prefix)
        cells = [row.get(name.strip().lower(), "x") for name in header]
        if shape == "broken":
            cells[draw(st.integers(0, len(cells) - 1))] = draw(_cell())
        elif shape == "short":
            cells = cells[: draw(st.integers(0, len(cells)))]
        elif shape == "long":
            cells = cells + draw(st.lists(_cell(), min_size=1, max_size=3))
        if draw(st.booleans()):
            lines.append(",".join(_quote(c) for c in cells))
        else:
            lines.append(",".join(cells))  # unquoted: commas and quotes as they come
        if draw(st.booleans()):
            end = draw(LINE_ENDS)  # line ends mixed within one file
    return end.join(lines) + draw(st.sampled_from(["", end]))


@st.composite
def order_file(draw: st.DrawFn) -> bytes:
    """The bytes of one hostile file."""
    kind = draw(
        st.sampled_from(["utf-8", "utf-8", "utf-8-bom", "latin-1", "utf-16", "bytes", "empty"])
    )
    if kind == "bytes":
        return draw(st.binary(max_size=2_000))
    if kind == "empty":
        return draw(st.sampled_from([b"", b"\n\n", b"\xef\xbb\xbf", b"   \r\n"]))
    text = draw(csv_text())
    if kind == "utf-8-bom":
        return "\ufeff".encode() + text.encode()
    if kind == "latin-1":
        return (text + ",caf\u00e9").encode("latin-1", "replace")
    if kind == "utf-16":
        return text.encode("utf-16")
    return text.encode("utf-8", "surrogatepass")
