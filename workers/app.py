"""The Celery app, configured from celeryconfig.py."""

from celery import Celery

app = Celery("oms", include=["workers.diagnostics"])
app.config_from_object("celeryconfig")
