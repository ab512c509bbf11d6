"""The `oms` command: a client of the OMS HTTP API (it never touches the stores)."""

from __future__ import annotations

from typing import Any, NoReturn

import click

from oms.cli import mappings, orders, stats, stopping, uploads, webhooks
from oms.cli.client import ApiClient
from oms.cli.errors import EXIT_CODES_HELP, CliError, Interrupted


class OmsGroup(click.Group):
    """Prints expected errors as one message (no traceback) and exits with their code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as exc:
            _fail(ctx, exc)
        except KeyboardInterrupt:
            _fail(ctx, Interrupted("interrupted"))


def _fail(ctx: click.Context, exc: CliError) -> NoReturn:
    click.secho(f"error: {exc.message}", err=True, fg="red")
    for line in exc.details:
        click.echo(f"  {line}", err=True)
    ctx.exit(exc.exit_code)


def _check_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise click.BadParameter(f"{value!r} is not an http:// or https:// URL")
    return value


@click.group(
    cls=OmsGroup, epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "--api-url",
    envvar="OMS_API_URL",
    default="http://127.0.0.1:8080",
    show_default=True,
    show_envvar=True,
    callback=_check_url,
    help="Base URL of the OMS API.",
)
@click.option(
    "--api-key",
    envvar="OMS_API_KEY",
    show_envvar=True,
    help="API key, sent as the X-API-Key header (when the API needs one).",
)
@click.version_option(package_name="oms")
@click.pass_context
def main(ctx: click.Context, api_url: str, api_key: str | None) -> None:
    """Upload order CSV files to OMS, follow their processing, and read the orders.

    \b
    Examples:
      oms upload orders.csv               upload, wait, print the counts
      oms status                          recent uploads
      oms invalid UPLOAD_ID -o bad.csv    download the invalid rows
      oms orders --upload UPLOAD_ID       orders stored from an upload
      oms orders --status backordered     orders waiting for stock
      oms cancel ORDER_ID                 cancel an order (its stock goes back)
      oms stop UPLOAD_ID                  stop an upload's remaining chunks
      oms undo UPLOAD_ID                  cancel every order of an upload
    """
    ctx.obj = ApiClient(api_url, api_key)


for command in (
    uploads.upload,
    uploads.check,
    uploads.commit,
    uploads.status,
    uploads.retry,
    stopping.stop,
    stopping.undo,
    uploads.invalid,
    orders.orders,
    orders.order,
    orders.cancel,
    orders.move,
    stats.stats,
    mappings.mapping,
    webhooks.webhook,
):
    main.add_command(command)
