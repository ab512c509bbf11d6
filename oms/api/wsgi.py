"""WSGI entry point: ``gunicorn oms.api.wsgi:app``."""

from oms.api.app import create_app

app = create_app()
