"""One JSON object per log line, for the API and the workers.

Each line has ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``process``, ``message``,
then every ``extra`` field of the call (``upload_id``, ``chunk``, counts, ...), the fields
bound to the running task (:func:`bind`), Celery's ``task_name`` and ``task_id`` when
known, and ``exception`` with the traceback.

No line carries a credential: a field whose name says key, secret, password, token,
authorization or credential (at any depth) is written as ``[redacted]``, and the secret
values a process registers (:func:`redact_values`: the API's keys, the IMS service key)
are replaced wherever they appear in a line, message and traceback included.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import sys
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import IO, Any

from celery._state import get_current_task

# Attributes every LogRecord has: anything else on a record came from ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

_bound: ContextVar[Mapping[str, Any] | None] = ContextVar("oms_log_fields", default=None)

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(
    r"api[_-]?keys?|service[_-]?keys?|secret|passw(or)?d|token|authori[sz]ation|credential",
    re.IGNORECASE,
)
_secret_values: set[str] = set()
MIN_SECRET_LENGTH = 6  # shorter values would blank out ordinary words


def redact_values(*values: str) -> None:
    """Never write these values (keys, passwords) in a line of this process."""
    _secret_values.update(v for v in values if len(v) >= MIN_SECRET_LENGTH)


def redacted(value: Any, name: str = "") -> Any:
    """``value`` with every field named like a secret replaced, at any depth."""
    if name and _SECRET_NAME.search(name) and value not in (None, ""):
        return REDACTED
    if isinstance(value, Mapping):
        return {key: redacted(item, str(key)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(item) for item in value]
    return value


def bind(**fields: Any) -> Token:
    """Add ``fields`` to every line logged in this context until :func:`unbind`."""
    return _bound.set({**(_bound.get() or {}), **fields})


def unbind(token: Token) -> None:
    _bound.reset(token)


def fields_of_call(
    func: Callable, args: tuple, kwargs: dict, names: Mapping[str, str]
) -> dict[str, Any]:
    """The log fields a call carries: ``names`` maps a parameter of ``func`` to the log
    field its argument becomes (a Celery task's ``upload_id`` and ``index``, say)."""
    try:
        arguments = inspect.signature(func).bind_partial(*args, **kwargs).arguments
    except (TypeError, ValueError):
        return {}
    return {field: arguments[name] for name, field in names.items() if name in arguments}


def _current_task() -> tuple[str, str] | None:
    """(name, id) of the Celery task running in this process, if any."""
    task = get_current_task()
    if task is None or task.request.id is None:
        return None
    return task.name, task.request.id


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "message": record.getMessage(),
        }
        for key, value in (_bound.get() or {}).items():
            line[key] = redacted(value, key)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = redacted(value, key)
        # Celery's own task lines (received, succeeded, ...) carry their task in ``data``.
        data = line.pop("data", None)
        if isinstance(data, dict) and "id" in data:
            line.setdefault("task_id", data["id"])
            line.setdefault("task_name", data.get("name"))
            if "runtime" in data:
                line.setdefault("runtime_s", data["runtime"])
        elif data is not None:
            line["data"] = data
        if "task_id" not in line and (task := _current_task()):
            line["task_name"], line["task_id"] = task
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        text = json.dumps(line, default=str, ensure_ascii=False)
        for secret in _secret_values:  # also inside messages and tracebacks
            text = text.replace(secret, REDACTED).replace(json.dumps(secret)[1:-1], REDACTED)
        return text


def configure_logging(level: str | int = "INFO", stream: IO[str] | None = None) -> None:
    """Log every record of this process as one JSON line on ``stream`` (stderr).

    Replaces the handler an earlier call installed; handlers others installed (pytest's,
    for one) stay.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "oms_json", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.oms_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
