"""`oms mapping`: save, list and delete named column mappings."""

from __future__ import annotations

import click

from oms.cli.client import ApiClient
from oms.cli.output import Column, echo_json, json_option, table
from oms.cli.uploads import parse_pairs


@click.group()
def mapping() -> None:
    """Column mappings saved for files from the same source (oms upload --mapping NAME)."""


@mapping.command("save")
@click.argument("name")
@click.argument("pairs", nargs=-1, required=True, metavar="FILE_COLUMN=OMS_COLUMN...")
@json_option
@click.pass_obj
def save(client: ApiClient, name: str, pairs: tuple[str, ...], as_json: bool) -> None:
    """Save the mapping NAME: each FILE_COLUMN of a file is read as OMS_COLUMN."""
    saved = client.save_mapping(name, parse_pairs(pairs))
    if as_json:
        echo_json(saved)
        return
    renames = ", ".join(f"{source} -> {target}" for source, target in saved["columns"].items())
    click.echo(f"saved mapping {saved['name']}: {renames}")


@mapping.command("list")
@json_option
@click.pass_obj
def listed(client: ApiClient, as_json: bool) -> None:
    """The saved mappings."""
    found = client.list_mappings()
    if as_json:
        echo_json(found)
        return
    columns = [
        Column("NAME", lambda m: m["name"]),
        Column("COLUMNS", lambda m: ", ".join(f"{s}->{t}" for s, t in m["columns"].items())),
    ]
    click.echo(table(found, columns) if found else "no saved mappings")


@mapping.command("delete")
@click.argument("name")
@click.pass_obj
def delete(client: ApiClient, name: str) -> None:
    """Forget the mapping NAME (uploads made with it keep their copy)."""
    client.delete_mapping(name)
    click.echo(f"deleted mapping {name}")
