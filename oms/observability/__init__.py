"""What operators see: Celery events for Flower (over Redis), Prometheus metrics, JSON logs."""
