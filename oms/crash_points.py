"""Crash points for the reliability runs (`make chaos`, RELIABILITY.md); off unless set.

``OMS_CRASH_AT=POINT`` (or ``POINT@CHUNK`` for the chunk points) makes the worker that
reaches that point kill its whole process group with SIGKILL, as a lost host would: the
main process and every pool child at once, nothing flushed, nothing acknowledged. It
fires once: it first creates ``OMS_CRASH_MARKER`` (a file), and a point whose marker
exists does nothing, so the worker started again runs through. ``child:POINT`` kills
only the process that reached it (a pool child): the worker's main process stays and
forks another.
"""

from __future__ import annotations

import os
import signal

from oms.config import get_settings

POINTS = (
    "split.after_save",  # the chunks recorded, the upload not yet processing
    "split.before_start",  # processing, no chunk task sent yet
    "chunk.before_insert",  # validated (IMS asked), nothing stored
    "chunk.after_insert",  # orders stored, no event published
    "chunk.after_publish",  # events confirmed by Kafka, the chunk not yet done
    "finalize.after_join",  # the invalid file written, the upload not yet completed
    "finalizer.after_checkpoint",  # a batch counted in its checkpoint, not yet copied
)


def reached(point: str, chunk: int | None = None) -> None:
    settings = get_settings()
    if not settings.crash_at:
        return
    target = settings.crash_at
    alone = target.startswith("child:")
    name, _, index = target.removeprefix("child:").partition("@")
    if name != point or (index and chunk != int(index)):
        return
    try:
        os.close(os.open(settings.crash_marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    if alone:
        os.kill(os.getpid(), signal.SIGKILL)
    os.killpg(os.getpgrp(), signal.SIGKILL)
