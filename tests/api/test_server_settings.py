"""One gunicorn setup for every server of the project (devstack, docker-compose, the
Dockerfile, the tests), and what it relies on: gevent, and C calls kept off its loop."""

from __future__ import annotations

import configparser
import subprocess
import sys
import textwrap

import pytest
import yaml
from gunicorn.workers.ggevent import GeventWorker

from devstack import services
from oms.api import gunicorn_conf
from oms.api.server import HardenedGeventWorker, json_error
from tests.servers import GUNICORN_CONFIG, ROOT

CONFIG_ARGS = ["--config", "python:oms.api.gunicorn_conf"]


def _has_config(argv: list[str]) -> bool:
    return any(argv[i : i + 2] == CONFIG_ARGS for i in range(len(argv)))


def test_the_config_module_names_the_hardened_gevent_worker_and_the_limits():
    assert gunicorn_conf.worker_class == "oms.api.server.HardenedGeventWorker"
    assert issubclass(HardenedGeventWorker, GeventWorker)
    assert gunicorn_conf.keepalive >= 1  # the worker refuses to start without
    assert gunicorn_conf.worker_connections >= 100
    assert gunicorn_conf.limit_request_line and gunicorn_conf.limit_request_fields
    assert "{x-api-key}i" not in gunicorn_conf.access_log_format.lower()


@pytest.mark.integration
def test_devstack_starts_the_api_and_ims_with_it(stack):
    assert _has_config(services._api().argv)
    assert _has_config(services._ims().argv)


def test_docker_compose_the_dockerfile_and_the_tests_use_it():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert _has_config(compose["services"]["api"]["command"])
    assert _has_config(compose["services"]["ims"]["command"])
    assert '"--config", "python:oms.api.gunicorn_conf"' in dockerfile.split("CMD", 1)[1]
    assert CONFIG_ARGS[1] == GUNICORN_CONFIG


def test_gevent_is_a_pinned_dependency_and_schemathesis_a_dev_one():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    requires = setup["options"]["install_requires"].split()
    dev = setup["options.extras_require"]["dev"].split()

    assert any(r.startswith("gevent>=") for r in requires)
    assert any(r.startswith("schemathesis>=") for r in dev)


def test_gunicorn_refusals_are_complete_json_http_answers():
    answer = json_error(431, "Request Header Fields Too Large", "limit request headers fields")
    head, _, body = answer.partition(b"\r\n\r\n")

    assert head.startswith(b"HTTP/1.1 431 ")
    assert b"Content-Type: application/json" in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert b'"code": "headers_too_large"' in body


def test_a_blocking_kafka_call_leaves_the_other_greenlets_running():
    """Under gevent, metadata from a broker that is not there (librdkafka waits in C for
    the whole timeout) runs in a real thread: another greenlet keeps ticking meanwhile.
    Run as its own process, so this test process is never monkey-patched."""
    script = textwrap.dedent(
        """
        from gevent import monkey; monkey.patch_all()
        import gevent, socket
        from confluent_kafka.admin import AdminClient
        from oms.stores.blocking import gevent_patched, off_event_loop

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]  # nothing listens
        ticks = []
        def tick():
            while True:
                ticks.append(1); gevent.sleep(0.05)
        ticker = gevent.spawn(tick)
        gevent.sleep(0)
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}", "log_level": 0})
        before = len(ticks)
        try:
            off_event_loop(admin.list_topics, timeout=2)
        except Exception:
            pass
        during = len(ticks) - before
        ticker.kill()
        print(gevent_patched(), during)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    patched, during = result.stdout.split()
    assert patched == "True", result.stderr
    assert int(during) > 0, "the event loop was held while librdkafka waited"
