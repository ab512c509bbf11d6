"""The two work queues (SQS, names under OMS_SQS_QUEUE_PREFIX).

``default`` carries the chunks of uploads. ``express`` carries the short tasks every
upload needs once (the split, the finalization) and the whole of small uploads (at most
OMS_EXPRESS_ROWS rows), so a 5-row upload never waits behind the chunks of a large one.
A worker started without ``--queues`` reads both (the tests' and chaos runs' single
worker); the stack and docker-compose run one worker for each, so the express lane stays
free while the chunks' worker is busy (issue 11, "Fair
under load"; RELIABILITY.md gives the measure).
"""

from __future__ import annotations

DEFAULT = "default"
EXPRESS = "express"
WORK_QUEUES = (DEFAULT, EXPRESS)
