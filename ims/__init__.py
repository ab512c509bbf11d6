"""Reference Inventory Management Service (IMS) for OMS: catalog, stock and reservations.

Run it with ``gunicorn ims.wsgi:app`` (port 8081 in the local stack) or ``python -m ims``.
"""
