"""Celery app and tasks of OMS."""
