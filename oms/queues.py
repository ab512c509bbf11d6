"""The two work queues (SQS, names under OMS_SQS_QUEUE_PREFIX).

``default`` carries the chunks of uploads. ``express`` carries the short tasks every
upload needs once (the split, the finalization) and the whole of small uploads (at most
OMS_EXPRESS_ROWS rows), so a 5-row upload never waits behind the chunks of a large one.
Every worker reads both; the stack and docker-compose also run one that reads only
``express``, so a lane stays free while the others work through chunks (issue 11, "Fair
under load"; RELIABILITY.md gives the measure).
"""

from __future__ import annotations

DEFAULT = "default"
EXPRESS = "express"
WORK_QUEUES = (DEFAULT, EXPRESS)
