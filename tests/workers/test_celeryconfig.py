"""The Celery configuration keeps the at-least-once guarantees of docs/architecture.md, for
whatever settings it is built from."""

import dataclasses

import celeryconfig
from oms.config import load_settings


def _conf(**changes):
    return celeryconfig.build(dataclasses.replace(load_settings({}), **changes))


def test_broker_is_sqs_at_the_configured_endpoint():
    local = _conf()
    compose = _conf(aws_endpoint_url="http://localstack:4566", sqs_queue_prefix="prod-")
    aws = _conf(aws_endpoint_url="https://sqs.eu-west-1.amazonaws.com")

    assert local["broker_url"] == "sqs://test:test@127.0.0.1:4566"
    assert compose["broker_url"] == "sqs://test:test@localstack:4566"
    assert compose["broker_transport_options"]["queue_name_prefix"] == "prod-"
    assert local["broker_transport_options"]["is_secure"] is False
    assert aws["broker_transport_options"]["is_secure"] is True


def test_credentials_are_quoted_in_the_broker_url():
    conf = _conf(aws_access_key_id="AK/IA", aws_secret_access_key="se+cr/et")

    assert conf["broker_url"].startswith("sqs://AK%2FIA:se%2Bcr%2Fet@")


def test_late_acks_and_single_prefetch():
    conf = _conf()
    assert conf["task_acks_late"] is True
    assert conf["task_reject_on_worker_lost"] is True
    assert conf["worker_prefetch_multiplier"] == 1


def test_pool_processes_that_grew_are_replaced():
    assert _conf(worker_max_memory_mb=300)["worker_max_memory_per_child"] == 300 * 1024


def test_tasks_end_before_their_message_becomes_visible_again():
    conf = _conf()
    assert conf["task_time_limit"] < conf["broker_transport_options"]["visibility_timeout"]
    assert conf["task_soft_time_limit"] < conf["task_time_limit"]


def test_results_go_to_redis_and_json_only():
    conf = _conf(redis_url="redis://redis:6379/0")
    assert conf["result_backend"] == "redis://redis:6379/0"
    assert conf["accept_content"] == ["json"]


def test_the_app_takes_the_process_settings():
    from oms.config import configure
    from workers.app import app, init_celery

    settings = dataclasses.replace(load_settings({}), sqs_queue_prefix="celeryconf-")
    previous = configure(settings)
    try:
        init_celery()
        assert app.conf.broker_transport_options["queue_name_prefix"] == "celeryconf-"
        assert app.conf.event_exchange == "celeryconf-celeryev"
    finally:
        configure(previous)
        init_celery()


def test_a_full_prefetch_slot_is_checked_again_within_50_ms():
    """kombu's SQS consumer looks at a full prefetch slot again only after the
    transport's polling_interval: with the default the express worker idled after each
    pair of 0.1 s tasks. The option must reach the transport a worker builds."""
    from workers.app import app

    with app.connection_for_read() as connection:
        assert connection.transport.polling_interval <= 0.05
        assert connection.transport_options["wait_time_seconds"] > 0  # empty queues long-poll
