"""The Celery app, configured from celeryconfig.py."""

from celery import Celery

app = Celery("oms", include=["workers.tasks", "workers.diagnostics"])
app.config_from_object("celeryconfig")
