"""The settings behind monitoring: events URL, metrics directory, and their Celery wiring."""

from pathlib import Path

import pytest

from oms.config import ConfigError, load_settings
from oms.observability.metrics import deployment_dir, worker_dir

ROOT = Path(__file__).resolve().parents[2]


def test_events_go_to_the_result_backend_redis_unless_told_otherwise():
    assert load_settings({}).events_broker_url == "redis://127.0.0.1:6379/0"
    assert load_settings({"OMS_REDIS_URL": "redis://redis:6379/0"}).events_broker_url == (
        "redis://redis:6379/0"
    )
    assert load_settings({"OMS_EVENTS_URL": "redis://127.0.0.1:6379/3"}).events_broker_url == (
        "redis://127.0.0.1:6379/3"
    )


def test_events_url_must_be_redis():
    with pytest.raises(ConfigError) as raised:
        load_settings({"OMS_EVENTS_URL": "sqs://127.0.0.1:4566"})

    assert "OMS_EVENTS_URL" in str(raised.value)
    assert "redis" in str(raised.value)


def test_metrics_live_under_the_checkout_by_default_one_directory_per_worker():
    settings = load_settings({"OMS_SQS_QUEUE_PREFIX": "t1234-"})

    assert Path(settings.metrics_dir) == ROOT / ".stack" / "metrics"
    assert deployment_dir(settings) == ROOT / ".stack" / "metrics" / "t1234"
    assert worker_dir(settings, "w1@host/x") == deployment_dir(settings) / "w1@host_x"


def test_a_relative_metrics_dir_is_made_absolute():
    settings = load_settings({"OMS_METRICS_DIR": "var/metrics", "OMS_SQS_QUEUE_PREFIX": ""})

    assert Path(settings.metrics_dir).is_absolute()
    assert deployment_dir(settings).name == "default"


def test_workers_send_task_events_over_redis_on_an_exchange_of_their_own():
    from workers.app import app

    conf = app.conf
    assert conf.worker_send_task_events is True
    assert conf.task_send_sent_event is True
    assert conf.oms_events_url.startswith("redis://")
    assert conf.worker_consumer == "oms.observability.events:Consumer"
    assert conf.event_exchange == f"{conf.broker_transport_options['queue_name_prefix']}celeryev"
    assert conf.broker_url.startswith("sqs://")  # tasks themselves stay on SQS
