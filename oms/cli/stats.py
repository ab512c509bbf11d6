"""`oms stats`: counts of orders, uploads and rows."""

from __future__ import annotations

import click

from oms.cli.client import ApiClient
from oms.cli.output import echo_json, json_option, text


@click.command()
@json_option
@click.pass_obj
def stats(client: ApiClient, as_json: bool) -> None:
    """Orders by status and hub, uploads by status, rows processed."""
    current = client.stats()
    if as_json:
        echo_json(current)
        return
    orders, uploads, rows = current["orders"], current["uploads"], current["rows"]
    lines: list[tuple[str, object]] = [("orders", orders["total"])]
    lines += [(f"  {name}", n) for name, n in sorted(orders["by_status"].items())]
    lines += [("orders by hub", None)]
    lines += [(f"  {hub}", n) for hub, n in sorted(orders["by_hub"].items())]
    lines += [("uploads", uploads["total"])]
    lines += [(f"  {name}", n) for name, n in uploads["by_status"].items()]
    lines += [("rows", rows.get("rows", 0))]
    lines += [(f"  {name}", rows.get(name, 0)) for name in ("valid", "invalid", "duplicate")]
    click.echo(aligned(lines))


def aligned(lines: list[tuple[str, object]]) -> str:
    """Labels left, numbers right-aligned in one column; a None value is a heading."""
    values = [("" if value is None else text(value)) for _, value in lines]
    label_width = max(len(label) for label, _ in lines)
    value_width = max(len(value) for value in values)
    return "\n".join(
        f"{label.ljust(label_width)}  {value.rjust(value_width)}".rstrip()
        for (label, _), value in zip(lines, values, strict=True)
    )
