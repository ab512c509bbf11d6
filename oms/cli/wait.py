"""Following an upload until it is completed, failed, rejected or cancelled, with a
progress bar over its chunks on stderr; following an undo over its blocks."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Watch:
    """What a wait follows on the upload document: a bar over ``total`` at ``position``
    until ``ended``; ``still`` says where it is when the wait times out."""

    label: str
    total: Callable[[dict], int]
    position: Callable[[dict], int]
    ended: Callable[[dict], bool]
    still: Callable[[dict, str], str]  # (upload, "after N s")


def _chunks_ended(upload: dict) -> int:
    chunks = upload["chunks"]
    return int(chunks["done"] + chunks["failed"] + chunks.get("cancelled", 0))


UPLOAD = Watch(
    label="Processing chunks",
    total=lambda u: int(u["chunks"]["total"]),
    position=_chunks_ended,
    ended=lambda u: u["status"] in TERMINAL,
    still=lambda u, after: (
        f"upload {u['upload_id']} is still {u['status']} {after} "
        f"({u['chunks']['done']} of {u['chunks']['total']} chunks done)"
    ),
)

UNDO = Watch(
    label="Cancelling orders (blocks of 50 rows)",
    total=lambda u: int((u.get("undo") or {}).get("blocks_total") or 0),
    position=lambda u: int((u.get("undo") or {}).get("blocks_done") or 0),
    ended=lambda u: (u.get("undo") or {}).get("status") in ("done", "failed"),
    still=lambda u, after: (
        f"the undo of upload {u['upload_id']} is still running {after} "
        f"({(u.get('undo') or {}).get('cancelled', 0)} orders cancelled)"
    ),
)


def wait_for_upload(
    client: ApiClient,
    upload_id: str,
    timeout_s: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    *,
    watch: Watch = UPLOAD,
) -> dict:
    """Poll GET /uploads/<id> until what ``watch`` follows has ended (by default, the
    upload is terminal; ``UNDO``: its undo is done or failed); return its last state."""
    follow = f"it goes on in the background; follow it with: oms status {upload_id}"
    try:
        return _poll(client, upload_id, timeout_s, follow, watch, clock, sleep)
    except KeyboardInterrupt:
        raise Interrupted(f"stopped waiting for upload {upload_id}", [follow]) from None


def _poll(
    client: ApiClient,
    upload_id: str,
    timeout_s: float,
    follow: str,
    watch: Watch,
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
            if bar is None and watch.total(upload):
                bar = stack.enter_context(
                    click.progressbar(
                        length=watch.total(upload),
                        label=watch.label,
                        show_pos=True,
                        show_eta=False,
                        file=sys.stderr,
                    )
                )
            if bar is not None:
                bar.update(max(0, watch.position(upload) - bar.pos))
            if watch.ended(upload):
                return upload
            if clock() >= deadline:
                raise WaitTimedOut(watch.still(upload, f"after {timeout_s:g} s"), [follow])
            sleep(POLL_S)
