"""The Celery configuration keeps the at-least-once guarantees of docs/architecture.md."""

from workers.app import app


def test_broker_is_sqs_at_the_configured_endpoint_without_tls():
    conf = app.conf
    assert conf.broker_url.startswith("sqs://")
    assert conf.broker_url.endswith("@127.0.0.1:4566")
    assert conf.broker_transport_options["is_secure"] is False
    assert conf.broker_transport_options["queue_name_prefix"]


def test_late_acks_and_single_prefetch():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_tasks_end_before_their_message_becomes_visible_again():
    conf = app.conf
    assert conf.task_time_limit < conf.broker_transport_options["visibility_timeout"]
    assert conf.task_soft_time_limit < conf.task_time_limit


def test_results_go_to_redis_and_json_only():
    conf = app.conf
    assert conf.result_backend.startswith("redis://")
    assert conf.accept_content == ["json"]
