"""`oms upload`, `oms check`, `oms commit`, `oms status`, `oms retry` and `oms invalid`:
upload files and follow them."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import click

from oms.cli.client import ApiClient, UploadOptions
from oms.cli.errors import ApiRefused, ExitCode, NotFound
from oms.cli.multipart import MultipartFile
from oms.cli.output import (
    Column,
    all_pages_option,
    cursor_option,
    echo_json,
    fields,
    json_option,
    note,
    page_size_option,
    seconds,
    show_listing,
    size,
    when,
)
from oms.cli.wait import timeout_option, wait_for_upload
from oms.uploads.status import TERMINAL, UploadStatus

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options of `oms upload` and `oms check`."""
    decorators: list[Callable[[Callable[..., None]], Callable[..., None]]] = [
        click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option(
            "--chunk-rows",
            type=click.IntRange(min=1),
            metavar="N",
            help="Rows per chunk task (default: the API's OMS_CHUNK_ROWS).",
        ),
        click.option(
            "--mapping",
            "mapping_name",
            metavar="NAME",
            help="Read the file's columns with the saved mapping NAME (oms mapping save).",
        ),
        click.option(
            "--map",
            "maps",
            multiple=True,
            metavar="FILE_COLUMN=OMS_COLUMN",
            callback=lambda ctx, param, value: parse_pairs(value),
            help="Read FILE_COLUMN as OMS_COLUMN (repeat for several columns).",
        ),
        click.option(
            "--wait/--no-wait",
            default=True,
            show_default=True,
            help="Follow the upload until it is processed, or stop once it is accepted.",
        ),
        timeout_option,
        json_option,
        click.pass_obj,
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


@click.command()
@click.option(
    "--force",
    is_flag=True,
    help="Upload even when a completed upload had exactly this file (else refused).",
)
@file_options
def upload(
    client: ApiClient,
    file: Path,
    chunk_rows: int | None,
    mapping_name: str | None,
    maps: dict[str, str],
    force: bool,
    wait: bool,
    timeout_s: float,
    as_json: bool,
) -> None:
    """Upload the order CSV (or .xlsx) FILE, then follow it until it is processed.

    The file is streamed (never read whole into memory). The summary gives the valid,
    invalid and duplicate rows and how to download the invalid ones. Exits 0 when the
    upload completed, 1 when it failed or was rejected.
    """
    options = UploadOptions(chunk_rows, maps or None, mapping_name, force=force)
    follow_upload(client, send(client, file, options), wait, timeout_s, as_json)


@click.command()
@file_options
def check(
    client: ApiClient,
    file: Path,
    chunk_rows: int | None,
    mapping_name: str | None,
    maps: dict[str, str],
    wait: bool,
    timeout_s: float,
    as_json: bool,
) -> None:
    """Check the order file FILE without storing anything (a dry run).

    Every row is validated, IMS is asked, the invalid file is made; no order is stored,
    no event published, no stock taken. `oms commit ID` then processes it for real
    without sending it again. Exits like upload.
    """
    options = UploadOptions(chunk_rows, maps or None, mapping_name, check=True)
    follow_upload(client, send(client, file, options), wait, timeout_s, as_json)


@click.command()
@click.argument("upload_id")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the upload.")
@timeout_option
@json_option
@click.pass_obj
def commit(client: ApiClient, upload_id: str, wait: bool, timeout_s: float, as_json: bool) -> None:
    """Process the checked upload UPLOAD_ID for real (a new upload of the same file)."""
    follow_upload(client, client.commit(upload_id), wait, timeout_s, as_json)


def send(client: ApiClient, file: Path, options: UploadOptions) -> dict:
    """POST the file; a refusal for a repeated file says what to do about it."""
    try:
        return send_file(client, file, options)
    except ApiRefused as refused:
        if refused.code == "same_file":
            earlier = refused.body.get("upload_id")
            refused.details += [
                f"see it with: oms status {earlier}",
                f"upload it again anyway: oms upload {file} --force",
            ]
        raise


def follow_upload(
    client: ApiClient, accepted: dict, wait: bool, timeout_s: float, as_json: bool
) -> None:
    upload_id = accepted["upload_id"]
    if not wait:
        if as_json:
            echo_json(accepted)
        else:
            click.echo(
                fields(
                    [
                        ("upload", upload_id),
                        ("status", accepted["status"]),
                        ("file", f"{accepted['filename']} ({size(accepted['size'])})"),
                        ("sha256", accepted["sha256"]),
                    ]
                )
            )
            note(f"follow it with: oms status {upload_id}")
        return
    finish(wait_for_upload(client, upload_id, timeout_s), as_json)


def parse_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("sku_id=sku", ...)`` as ``{"sku_id": "sku", ...}``."""
    parsed = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise click.BadParameter(f"{pair!r} is not FILE_COLUMN=OMS_COLUMN", param_hint="--map")
        parsed[source.strip()] = target.strip()
    return parsed


def send_file(client: ApiClient, file: Path, options: UploadOptions) -> dict:
    """POST the file with a progress bar of bytes sent on stderr."""
    total = file.stat().st_size
    with click.progressbar(
        length=total,
        label=f"Uploading {file.name}",
        show_percent=True,
        show_eta=False,
        file=sys.stderr,
        item_show_func=lambda sent: sent,
    ) as bar:

        def on_block(n: int) -> None:
            bar.update(n, f"{size(bar.pos + n)} of {size(total)}")

        part_type = XLSX_TYPE if file.suffix.lower() == ".xlsx" else "text/csv"
        body = MultipartFile(file, content_type=part_type, on_block=on_block)
        return client.upload(body, options)


def finish(upload: dict, as_json: bool) -> None:
    """Print a finished upload; exit 1 unless it completed."""
    if as_json:
        echo_json(upload)
    else:
        click.echo(describe(upload))
    if upload["status"] != UploadStatus.COMPLETED:
        click.get_current_context().exit(ExitCode.UPLOAD_FAILED)


def tally(counted: dict[str, int] | None) -> str | None:
    """``{"sku": 1, "quantity": 3}`` as ``quantity 3, sku 1``: largest first, then by
    name (None when empty)."""
    ordered = sorted((counted or {}).items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{name} {n}" for name, n in ordered) or None


def describe(upload: dict) -> str:
    """One upload in detail: counts, chunks, timings and what to do next."""
    upload_id, counts, chunks = upload["upload_id"], upload.get("counts") or {}, upload["chunks"]
    invalid_file = upload.get("invalid_file")
    lines = [
        ("upload", upload_id),
        ("status", upload["status"]),
        ("file", f"{upload['filename']} ({size(upload.get('size'))})"),
        ("rows", counts.get("rows", 0)),
        ("valid", counts.get("valid", 0)),
        ("invalid", counts.get("invalid", 0)),
        ("duplicates", counts.get("duplicate", 0)),
        ("invalid by field", tally((upload.get("invalid_by") or {}).get("field"))),
        ("invalid by rule", tally((upload.get("invalid_by") or {}).get("rule"))),
        ("chunks", _chunk_line(chunks)),
        ("failed chunks", ", ".join(map(str, upload["failed_chunks"])) or None),
        ("undo", _undo_line(upload.get("undo"))),
        ("error", upload.get("error")),
        ("created", when(upload.get("created_at"))),
        ("finished", when(upload.get("finished_at"))),
        ("duration", seconds(upload.get("duration_s"))),
        ("invalid file", invalid_file),
        ("download it", f"oms invalid {upload_id} -o {invalid_file}" if invalid_file else None),
    ]
    if upload.get("check_only"):
        lines.insert(2, ("check only", "yes: nothing of it was stored or published"))
        if upload.get("committed_as"):
            lines.append(("committed as", upload["committed_as"]))
        elif upload["status"] == UploadStatus.COMPLETED:
            lines.append(("commit it", f"oms commit {upload_id}"))
    if upload.get("committed_from"):
        lines.append(("commits the check", upload["committed_from"]))
    if upload["status"] == UploadStatus.FAILED:
        lines.append(("retry it", f"oms retry {upload_id} --wait"))
    elif upload["status"] not in TERMINAL:
        lines.append(("follow it", f"oms status {upload_id}"))
        if not upload.get("cancel_requested"):
            lines.append(("stop it", f"oms stop {upload_id}"))
    return fields(lines)


def _chunk_line(chunks: dict[str, int]) -> str:
    line = f"{chunks['done']} of {chunks['total']} done, {chunks['failed']} failed"
    if chunks.get("cancelled"):
        line += f", {chunks['cancelled']} cancelled"
    return line


def _undo_line(undo: dict | None) -> str | None:
    """An undo's progress: ``running: 120 orders cancelled, 0 kept (3 of 9 blocks)``."""
    if not undo:
        return None
    return (
        f"{undo['status']}: {undo.get('cancelled', 0)} orders cancelled, "
        f"{undo.get('kept', 0)} kept ({undo.get('blocks_done', 0)} of "
        f"{undo.get('blocks_total', 0)} blocks)"
    )


UPLOAD_COLUMNS = [
    Column("UPLOAD ID", lambda u: u["upload_id"]),
    Column("STATUS", lambda u: u["status"]),
    Column("FILE", lambda u: u["filename"], max_width=32),
    Column("ROWS", lambda u: (u.get("counts") or {}).get("rows", 0), right=True),
    Column("VALID", lambda u: (u.get("counts") or {}).get("valid", 0), right=True),
    Column("INVALID", lambda u: (u.get("counts") or {}).get("invalid", 0), right=True),
    Column("CHUNKS", lambda u: f"{u['chunks']['done']}/{u['chunks']['total']}", right=True),
    Column("CREATED (UTC)", lambda u: when(u.get("created_at"))),
]


@click.command()
@click.argument("upload_id", required=False)
@click.option(
    "--status",
    "status_filter",
    type=click.Choice([str(s) for s in UploadStatus]),
    help="List only uploads with this status.",
)
@cursor_option
@all_pages_option
@page_size_option
@json_option
@click.pass_obj
def status(
    client: ApiClient,
    upload_id: str | None,
    status_filter: str | None,
    cursor: str | None,
    all_pages: bool,
    page_size: int,
    as_json: bool,
) -> None:
    """Show one upload in detail, or list the recent ones.

    With UPLOAD_ID: its status, counts, chunks, timings and invalid file. Without: the
    uploads, newest first.
    """
    if upload_id:
        if status_filter:
            raise click.UsageError("--status filters the list; leave it out with an ID")
        upload = client.get_upload(upload_id)
        if as_json:
            echo_json(upload)
        else:
            click.echo(describe(upload))
        return

    def fetch(at: str | None) -> dict:
        return client.list_uploads(at, page_size, status_filter)

    show_listing(fetch, UPLOAD_COLUMNS, "uploads", as_json, cursor, all_pages)


@click.command()
@click.argument("upload_id")
@click.option("--wait", is_flag=True, help="Follow the upload until it finishes again.")
@timeout_option
@json_option
@click.pass_obj
def retry(client: ApiClient, upload_id: str, wait: bool, timeout_s: float, as_json: bool) -> None:
    """Re-run the failed chunks of the failed upload UPLOAD_ID.

    With --wait, exits like upload: 0 when it completed, 1 when it failed again.
    """
    upload = client.retry_upload(upload_id)
    if wait:
        finish(wait_for_upload(client, upload_id, timeout_s), as_json)
    elif as_json:
        echo_json(upload)
    else:
        click.echo(fields([("upload", upload_id), ("status", upload["status"])]))
        note(f"retry started; follow it with: oms status {upload_id}")


@click.command()
@click.argument("upload_id")
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Where to write the CSV; - for stdout.  [default: ./<UPLOAD_ID>.csv]",
)
@click.pass_obj
def invalid(client: ApiClient, upload_id: str, output: str | None) -> None:
    """Download the invalid rows of an upload as CSV.

    The file has the upload's columns plus each row's line number and reasons.
    """
    upload_id = upload_id.removesuffix(".csv")
    upload = client.get_upload(upload_id)
    name = upload.get("invalid_file")
    if not name:
        raise NotFound(
            f"upload {upload_id} has no invalid-records file", [_why_no_invalid_file(upload)]
        )
    blocks = client.invalid_file(name)
    if output == "-":
        stdout = sys.stdout.buffer
        for block in blocks:
            stdout.write(block)
        stdout.flush()
        return
    target = Path(output or name)
    written = write_atomically(target, blocks)
    rows = (upload.get("counts") or {}).get("invalid", 0)
    note(f"wrote {size(written)} ({rows:,} invalid rows) to {target}")


def _why_no_invalid_file(upload: dict) -> str:
    if upload["status"] not in TERMINAL:
        return f"it is still {upload['status']}; follow it with: oms status {upload['upload_id']}"
    if upload["status"] == UploadStatus.COMPLETED:
        return "every row was valid"
    outcome = "was rejected" if upload["status"] == UploadStatus.REJECTED else "failed"
    return f"it {outcome}: {upload.get('error') or 'no rows were checked'}"


def write_atomically(target: Path, blocks: Iterable[bytes]) -> int:
    """Write ``blocks`` to ``target`` through a temporary file, so a broken download never
    leaves a partial CSV under the expected name. Returns the bytes written."""
    partial = target.with_name(f".{target.name}.part")
    written = 0
    try:
        with partial.open("wb") as out:
            for block in blocks:
                out.write(block)
                written += len(block)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written
