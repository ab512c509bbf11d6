"""gunicorn's settings for the OMS API and the reference IMS, in one place.

    gunicorn --config python:oms.api.gunicorn_conf --bind HOST:PORT oms.api.wsgi:app

devstack (``devstack/services.py``), docker-compose, the Dockerfile and the tests
(``tests/servers.py``) all start their servers this way, so they all serve alike; the
command line adds only the address (and, where it differs, ``--workers``), and a
command-line option wins over this file.

gunicorn reads every module-level name that is one of its settings (others are ignored),
so this module defines nothing else. Why each value: ``oms/api/server.py``.
"""

# gevent, a deadline on each request head, socket idle timeouts, JSON errors.
worker_class = "oms.api.server.HardenedGeventWorker"
workers = 2
# Connections one worker holds at once (idle ones included): each costs a greenlet.
worker_connections = 1000
# A kept-alive connection must send its next complete request head within this.
keepalive = 5
# Request heads: a longer request line is 414, more or larger header fields are 431.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
# The pure-Python parser, whatever is installed: the limits above behave as tested.
http_parser = "python"
# Heartbeat: a gevent worker reports every second unless its event loop is blocked, so
# only a worker stuck this long (in C code or a CPU loop) is restarted; a long upload
# that keeps flowing is not.
timeout = 120
graceful_timeout = 30
# No control socket: nothing here uses gunicornc, and every gunicorn of a user would share
# one default path ($HOME/.gunicorn/gunicorn.ctl).
control_socket_disable = True
# Access log on stdout; the format names no header, so an X-API-Key is never logged.
accesslog = "-"
access_log_format = '%(h)s - - %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
