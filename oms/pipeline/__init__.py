"""The ingestion pipeline as plain functions; Celery tasks in workers/ only call these.

split.py (ingest_upload) -> chunk.py (process_chunk, one per slice) -> finalize.py.
"""
