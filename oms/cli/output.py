"""What the commands print: aligned tables and fields for people, the API's JSON for
scripts (``--json``). Data goes to stdout; progress and messages go to stderr."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import click

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the API's JSON to stdout instead of text."
)
cursor_option = click.option(
    "--cursor", help="Start at this page (the cursor a previous listing printed)."
)
all_pages_option = click.option(
    "--all",
    "all_pages",
    is_flag=True,
    help="Follow every page to the end (with --json: one JSON object per line).",
)
page_size_option = click.option(
    "--page-size", type=click.IntRange(1, 200), default=20, show_default=True
)


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2))


def note(message: str) -> None:
    """A message for the person at the terminal, kept out of stdout."""
    click.echo(message, err=True)


@dataclass(frozen=True)
class Column:
    title: str
    value: Callable[[dict], object]
    right: bool = False  # numbers read best right-aligned
    max_width: int | None = None


def table(items: Sequence[dict], columns: Sequence[Column]) -> str:
    cells = [[_clip(text(c.value(item)), c.max_width) for c in columns] for item in items]
    widths = [max([len(c.title), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = [[c.title for c in columns], *cells]
    return "\n".join(
        "  ".join(
            cell.rjust(w) if c.right else cell.ljust(w)
            for cell, w, c in zip(line, widths, columns, strict=True)
        ).rstrip()
        for line in lines
    )


def fields(pairs: Iterable[tuple[str, object]]) -> str:
    """``label  value`` lines with the values aligned; pairs whose value is None are left
    out."""
    shown = [(label, text(value)) for label, value in pairs if value is not None]
    width = max((len(label) for label, _ in shown), default=0)
    return "\n".join(f"{label.ljust(width)}  {value}".rstrip() for label, value in shown)


def text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def when(value: str | None) -> str | None:
    """An API timestamp as ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def size(n: int | None) -> str | None:
    if n is None:
        return None
    amount = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{n:,} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def seconds(value: float | None) -> str | None:
    if value is None:
        return None
    minutes, secs = divmod(value, 60)
    return f"{int(minutes)} min {secs:.0f} s" if minutes else f"{secs:.1f} s"


def page_footer(page: dict, noun: str) -> str:
    shown = f"{len(page['items']):,} {noun}" if page["items"] else f"no {noun}"
    if page.get("next"):
        return f"{shown} on this page; next page: --cursor {page['next']}"
    return f"{shown}; end of the list"


def show_listing(
    fetch: Callable[[str | None], dict],
    columns: Sequence[Column],
    noun: str,
    as_json: bool,
    cursor: str | None,
    all_pages: bool,
) -> None:
    """A page of a listing (``fetch(cursor)`` reads one): the API's JSON, or a table
    with a footer on stderr. With ``all_pages``, every page to the end: tables one after
    the other, or in JSON one item per line."""
    listing = fetch(cursor)
    if not all_pages:
        if as_json:
            echo_json(listing)
            return
        if listing["items"]:
            click.echo(table(listing["items"], columns))
        note(page_footer(listing, noun))
        return
    count = 0
    while True:
        for item in listing["items"] if as_json else ():
            click.echo(json.dumps(item, separators=(",", ":")))
        if listing["items"] and not as_json:
            click.echo(table(listing["items"], columns))
        count += len(listing["items"])
        if not listing.get("next"):
            break
        listing = fetch(listing["next"])
    note(f"{count:,} {noun} in all")


def _clip(value: str, width: int | None) -> str:
    if width is None or len(value) <= width:
        return value
    return value[: width - 3] + "..."
