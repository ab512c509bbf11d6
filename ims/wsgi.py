"""WSGI entry point: ``gunicorn -b 127.0.0.1:8081 ims.wsgi:app``.

Importing this module creates the tables and seeds the catalog (see ``ims.app.build_app``);
settings come from the environment through ``ims.config``. Do not run gunicorn with
``--preload``: each worker must open its own PostgreSQL connections, after the fork.
"""

from ims.app import build_app
from ims.config import ImsSettings

app = build_app(ImsSettings.from_env())
