"""Celery app and tasks of OMS."""

# Importing any task module makes the configured app the current one, so the API and the
# CLI send through it (with its events settings), not through Celery's default app.
from workers.app import app  # noqa: F401
