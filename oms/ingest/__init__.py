"""CSV ingestion logic: header checks, chunk boundaries, row parsing and validation.

Everything here is pure (no servers, no network), so tasks and tests call it directly.
"""
