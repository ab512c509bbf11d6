"""``oms stop`` and ``oms undo``: stop an upload's remaining chunks; cancel its orders."""

from __future__ import annotations

import click

from oms.cli.client import ApiClient
from oms.cli.errors import ApiRefused, ExitCode
from oms.cli.output import echo_json, fields, json_option, note
from oms.cli.uploads import describe
from oms.cli.wait import UNDO, timeout_option, wait_for_upload
from oms.uploads.status import UploadStatus


@click.command()
@click.argument("upload_id")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow it until it ends.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@timeout_option
@json_option
@click.pass_obj
def stop(
    client: ApiClient, upload_id: str, wait: bool, yes: bool, timeout_s: float, as_json: bool
) -> None:
    """Cancel the upload UPLOAD_ID: its chunks not yet run never run; what was stored
    stays, and is counted. Exits 0 once it is cancelled (or when it ended otherwise
    meanwhile, 1)."""
    if not yes:
        click.confirm(f"Stop upload {upload_id}? Chunks not yet run will not run", abort=True)
    try:
        upload = client.cancel_upload(upload_id)
    except ApiRefused as refused:
        if refused.code == "not_cancellable":
            refused.details.append(f"cancel its orders with: oms undo {upload_id}")
        raise
    if wait:
        upload = wait_for_upload(client, upload_id, timeout_s)
    if as_json:
        echo_json(upload)
    else:
        click.echo(describe(upload))
    if wait and upload["status"] != UploadStatus.CANCELLED:
        click.get_current_context().exit(ExitCode.UPLOAD_FAILED)


@click.command()
@click.argument("upload_id")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the undo.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@timeout_option
@json_option
@click.pass_obj
def undo(
    client: ApiClient, upload_id: str, wait: bool, yes: bool, timeout_s: float, as_json: bool
) -> None:
    """Cancel every order the upload UPLOAD_ID stored: reservations go back to IMS and
    each order gets an order.updated event; fulfilled orders are kept. Exits 0 when the
    undo is done, 1 when it gave up (run it again to go on)."""
    if not yes:
        click.confirm(f"Cancel every order of upload {upload_id}?", abort=True)
    upload = client.undo_upload(upload_id)
    if wait:
        upload = wait_for_upload(client, upload_id, timeout_s, watch=UNDO)
    progress = upload.get("undo") or {}
    if as_json:
        echo_json(upload)
    else:
        click.echo(
            fields(
                [
                    ("upload", upload_id),
                    ("undo", progress.get("status")),
                    (
                        "blocks",
                        f"{progress.get('blocks_done', 0)} of {progress.get('blocks_total', 0)}",
                    ),
                    ("orders cancelled", progress.get("cancelled", 0)),
                    ("orders kept (fulfilled)", progress.get("kept", 0)),
                    ("error", progress.get("error")),
                ]
            )
        )
        if not wait:
            note(f"follow it with: oms status {upload_id}")
    if progress.get("status") == "failed":
        click.get_current_context().exit(ExitCode.UPLOAD_FAILED)
