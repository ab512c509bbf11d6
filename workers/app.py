"""The Celery app, configured from celeryconfig.py."""

from celery import Celery
from celery.signals import worker_init

app = Celery("oms", include=["workers.tasks", "workers.diagnostics"])
app.config_from_object("celeryconfig")


@worker_init.connect
def _prepare_stores(**_) -> None:
    """The unique order_id index is what makes a re-run chunk harmless: make sure it
    exists before the first task runs, whichever process started first."""
    from oms.stores import mongo, s3

    mongo.ensure_indexes()
    s3.ensure_bucket()
