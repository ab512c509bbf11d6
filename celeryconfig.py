"""Celery settings for OMS, made from oms.config settings (docs/architecture.md says why).

``build(settings)`` is the Celery configuration of any OMS settings;
``workers.app.init_celery`` applies it to the app.
"""

from __future__ import annotations

from typing import Any

from kombu import Exchange, Queue

from oms import queues
from oms.config import Settings


def build(settings: Settings) -> dict[str, Any]:
    return {
        "broker_url": settings.broker_url,
        "broker_transport_options": {
            "region": settings.aws_region,
            "is_secure": settings.aws_is_secure,
            "queue_name_prefix": settings.sqs_queue_prefix,
            # A message not acked within this time is delivered again: keep it above the
            # longest task (task_time_limit below) so a running task is never duplicated.
            "visibility_timeout": settings.sqs_visibility_timeout_s,
            "wait_time_seconds": 5,  # long polling
            # kombu's SQS consumer re-checks a full prefetch slot only every
            # polling_interval (Channel._schedule_queue -> _loop1 -> call_later), so a
            # worker whose tasks take 0.1 s idled 0.5 s after each pair: 1,000 one-row
            # uploads ran at 2.7 tasks/s on an idle machine. The check is local (no SQS
            # request); an empty queue is still long-polled, so SQS sees no more calls.
            "polling_interval": 0.05,
        },
        "broker_connection_retry_on_startup": True,
        "result_backend": settings.redis_url,
        "result_expires": 7 * 24 * 3600,
        "result_extended": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        # At-least-once: ack after the task ends, give the message back if the worker dies.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # A pool process that grew past this (a hostile file's rows, say) is replaced
        # once its task ends, so memory stays bounded after it (kilobytes).
        "worker_max_memory_per_child": settings.worker_max_memory_mb * 1024,
        "task_time_limit": settings.task_time_limit_s,
        # The soft limit raises inside a slow task, which then retries (workers/retry.py)
        "task_soft_time_limit": max(int(settings.task_time_limit_s * 0.8), 4),
        "task_track_started": True,
        # Monitoring: the workers send every task event (sent, received, started,
        # succeeded, failed, retried) and their heartbeats to Flower through Redis, since
        # SQS cannot carry them (docs/architecture.md, "Celery on SQS";
        # oms/observability/events.py). Flower: `celery -A workers.app -b <events url>
        # flower` (-b after `flower` is ignored).
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "oms_events_url": settings.events_broker_url,
        "worker_consumer": "oms.observability.events:Consumer",
        # One event exchange per deployment, so those sharing a Redis see only theirs.
        "event_exchange": f"{settings.sqs_queue_prefix}celeryev",
        # Chunks on `default`, short tasks and small uploads on `express` (oms/queues.py):
        # a worker without -Q reads both; `-Q express` makes a lane the chunks never take.
        "task_default_queue": queues.DEFAULT,
        "task_queues": [
            Queue(name, Exchange(name), routing_key=name) for name in queues.WORK_QUEUES
        ],
        "worker_hijack_root_logger": False,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "beat_schedule": {
            # Offer stock that arrived at IMS to the backorders waiting for it.
            "offer-new-stock": {"task": "oms.offer_new_stock", "schedule": 5.0},
            # Finish what an outage left of order moves (releases, events).
            "sweep-orders": {"task": "oms.sweep_orders", "schedule": 60.0},
            # Recount /stats from the exact per-upload counters.
            "reconcile-stats": {"task": "oms.reconcile_stats", "schedule": 600.0},
            # Re-drive uploads without progress (lost messages), or fail them.
            "reap-stalled-uploads": {"task": "oms.reap_stalled_uploads", "schedule": 60.0},
            # Webhook deliveries a crash left unrecorded, and retries that are due.
            "sweep-webhooks": {"task": "oms.sweep_webhooks", "schedule": 10.0},
        },
    }
