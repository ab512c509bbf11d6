"""Following an upload until it is completed, failed, rejected or cancelled, with a
progress bar over its chunks on stderr; following an undo over its blocks."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import ExitStack

import click

from oms.cli.client import ApiClient
from oms.cli.errors import ApiUnavailable, Interrupted, WaitTimedOut
from oms.uploads.status import TERMINAL

POLL_S = 0.5
# A wait survives the API being briefly unreachable (a restart) for this long.
OUTAGE_S = 30.0

timeout_option = click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0),
    default=3600.0,
    show_default=True,
    metavar="SECONDS",
    help="Stop waiting after this long (exit 5); the upload goes on.",
)


def wait_for_upload(
    client: ApiClient,
    upload_id: str,
    timeout_s: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Poll GET /uploads/<id> until the upload is terminal; return its last state."""
    follow = f"it goes on in the background; follow it with: oms status {upload_id}"
    try:
        return _poll(client, upload_id, timeout_s, follow, clock, sleep)
    except KeyboardInterrupt:
        raise Interrupted(f"stopped waiting for upload {upload_id}", [follow]) from None


def _poll(
    client: ApiClient,
    upload_id: str,
    timeout_s: float,
    follow: str,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> dict:
    deadline = clock() + timeout_s
    unreachable_since: float | None = None
    with ExitStack() as stack:
        bar = None
        while True:
            try:
                upload = client.get_upload(upload_id)
                unreachable_since = None
            except ApiUnavailable as exc:
                if unreachable_since is None:
                    unreachable_since = clock()
                if clock() - unreachable_since >= OUTAGE_S or clock() >= deadline:
                    exc.details.append(follow)
                    raise
                sleep(POLL_S)
                continue
            chunks = upload["chunks"]
            if bar is None and chunks["total"]:
                bar = stack.enter_context(
                    click.progressbar(
                        length=chunks["total"],
                        label="Processing chunks",
                        show_pos=True,
                        show_eta=False,
                        file=sys.stderr,
                    )
                )
            if bar is not None:
                bar.update(
                    max(0, chunks["done"] + chunks["failed"] + chunks.get("cancelled", 0) - bar.pos)
                )
            if upload["status"] in TERMINAL:
                return upload
            if clock() >= deadline:
                raise WaitTimedOut(
                    f"upload {upload_id} is still {upload['status']} after {timeout_s:g} s "
                    f"({chunks['done']} of {chunks['total']} chunks done)",
                    [follow],
                )
            sleep(POLL_S)


def wait_for_undo(
    client: ApiClient,
    upload_id: str,
    timeout_s: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Poll GET /uploads/<id> until its undo is done or failed; return the upload."""
    follow = f"the undo goes on in the background; follow it with: oms status {upload_id}"
    deadline = clock() + timeout_s
    try:
        with ExitStack() as stack:
            bar = None
            while True:
                upload = client.get_upload(upload_id)
                undo = upload.get("undo") or {}
                if bar is None and undo.get("blocks_total"):
                    bar = stack.enter_context(
                        click.progressbar(
                            length=undo["blocks_total"],
                            label="Cancelling orders (blocks of 50 rows)",
                            show_pos=True,
                            show_eta=False,
                            file=sys.stderr,
                        )
                    )
                if bar is not None:
                    bar.update(max(0, undo.get("blocks_done", 0) - bar.pos))
                if undo.get("status") in ("done", "failed"):
                    return upload
                if clock() >= deadline:
                    raise WaitTimedOut(
                        f"the undo of upload {upload_id} is still running after "
                        f"{timeout_s:g} s ({undo.get('cancelled', 0)} orders cancelled)",
                        [follow],
                    )
                sleep(POLL_S)
    except KeyboardInterrupt:
        raise Interrupted(f"stopped waiting for the undo of {upload_id}", [follow]) from None
