"""`oms webhook`: subscribe a URL to the end of uploads, list, delete, see deliveries."""

from __future__ import annotations

import click

from oms.cli.client import ApiClient
from oms.cli.output import Column, echo_json, fields, json_option, table, when

EVENTS = ("completed", "failed", "rejected", "cancelled")


@click.group()
def webhook() -> None:
    """Webhooks: get a signed POST when an upload completes, fails, is rejected or cancelled."""


@webhook.command("add")
@click.argument("url")
@click.option(
    "--event",
    "events",
    type=click.Choice(EVENTS),
    multiple=True,
    required=True,
    help="An event to be told (again for more): completed, failed, rejected, cancelled.",
)
@click.option("--secret", help="The signing secret (default: the server makes one).")
@json_option
@click.pass_obj
def add(
    client: ApiClient, url: str, events: tuple[str, ...], secret: str | None, as_json: bool
) -> None:
    """Subscribe URL; prints its id and its signing secret (shown this once)."""
    made = client.add_webhook(url, [f"upload.{e}" for e in events], secret)
    if as_json:
        echo_json(made)
        return
    click.echo(
        fields(
            [
                ("webhook", made["webhook_id"]),
                ("url", made["url"]),
                ("events", ", ".join(made["events"])),
                ("secret", made["secret"]),
            ]
        )
    )
    click.echo("keep the secret: it is not shown again (it verifies OMS-Signature)", err=True)


@webhook.command("list")
@json_option
@click.pass_obj
def listed(client: ApiClient, as_json: bool) -> None:
    """The subscriptions."""
    found = client.list_webhooks()
    if as_json:
        echo_json(found)
        return
    columns = [
        Column("ID", lambda w: w["webhook_id"]),
        Column("URL", lambda w: w["url"], max_width=60),
        Column("EVENTS", lambda w: ", ".join(e.removeprefix("upload.") for e in w["events"])),
        Column("CREATED", lambda w: when(w["created_at"])),
    ]
    click.echo(table(found, columns) if found else "no webhooks")


@webhook.command("deliveries")
@click.argument("webhook_id", metavar="ID")
@json_option
@click.pass_obj
def deliveries(client: ApiClient, webhook_id: str, as_json: bool) -> None:
    """The latest deliveries of the webhook ID, with their attempts."""
    found = client.webhook_deliveries(webhook_id)
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo("no deliveries yet")
        return
    columns = [
        Column("DELIVERY", lambda d: d["delivery_id"]),
        Column("EVENT", lambda d: d["event"]),
        Column("UPLOAD", lambda d: d["upload_id"]),
        Column("STATUS", lambda d: d["status"]),
        Column("ATTEMPTS", lambda d: len(d["attempts"]), right=True),
        Column("LAST", lambda d: _last(d), max_width=50),
    ]
    click.echo(table(found, columns))


def _last(delivery: dict) -> str:
    if not delivery["attempts"]:
        return "-"
    last = delivery["attempts"][-1]
    outcome = last["error"] or f"HTTP {last['status_code']}"
    return f"{when(last['at'])} {outcome}"


@webhook.command("delete")
@click.argument("webhook_id", metavar="ID")
@click.pass_obj
def delete(client: ApiClient, webhook_id: str) -> None:
    """Unsubscribe the webhook ID (deliveries not made yet are not made)."""
    client.delete_webhook(webhook_id)
    click.echo(f"deleted webhook {webhook_id}")
