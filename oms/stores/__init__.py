"""Clients of the external systems: S3, MongoDB, Kafka, IMS. One small module each."""
