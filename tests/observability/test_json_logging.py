"""Every log record becomes one JSON line carrying the call's extra fields."""

import io
import json
import logging

from oms.observability.logging import (
    JsonFormatter,
    bind,
    configure_logging,
    fields_of_call,
    unbind,
)


def _record(message="chunk done", *args, exc_info=None, **extra) -> logging.LogRecord:
    record = logging.LogRecord(
        "oms.pipeline.chunk", logging.INFO, "chunk.py", 80, message, args, exc_info
    )
    record.__dict__.update(extra)
    return record


def test_a_record_with_extras_is_one_json_line_with_them():
    record = _record(upload_id="a" * 32, chunk=0, rows=2, valid=2, invalid=0)

    line = JsonFormatter().format(record)

    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "INFO"
    assert parsed["logger"] == "oms.pipeline.chunk"
    assert parsed["message"] == "chunk done"
    assert parsed["time"].endswith("Z")
    assert {k: parsed[k] for k in ("upload_id", "chunk", "rows", "valid", "invalid")} == {
        "upload_id": "a" * 32,
        "chunk": 0,
        "rows": 2,
        "valid": 2,
        "invalid": 0,
    }


def test_message_arguments_are_applied_and_odd_values_turned_to_text():
    record = _record("chunk %s/%s: %s", "u1", 3, "IMS down", when=object())

    parsed = json.loads(JsonFormatter().format(record))

    assert parsed["message"] == "chunk u1/3: IMS down"
    assert parsed["when"].startswith("<object object")


def test_an_exception_is_kept_with_its_traceback():
    try:
        raise ValueError("bad row")
    except ValueError:
        import sys

        record = _record("chunk failed", exc_info=sys.exc_info(), upload_id="u2", chunk=1)

    parsed = json.loads(JsonFormatter().format(record))

    assert parsed["exception"].startswith("Traceback")
    assert "ValueError: bad row" in parsed["exception"]
    assert parsed["chunk"] == 1


def test_celery_task_lines_name_their_task():
    data = {
        "id": "0f1e",
        "name": "oms.process_chunk",
        "runtime": 0.25,
        "return_value": "{}",
        "args": "('u3', 4)",
        "kwargs": "{}",
    }
    record = _record("Task %(name)s[%(id)s] succeeded", data, data=data)

    parsed = json.loads(JsonFormatter().format(record))

    assert parsed["message"] == "Task oms.process_chunk[0f1e] succeeded"
    assert (parsed["task_name"], parsed["task_id"], parsed["runtime_s"]) == (
        "oms.process_chunk",
        "0f1e",
        0.25,
    )
    assert "data" not in parsed


def test_bound_fields_reach_every_line_until_unbound():
    formatter = JsonFormatter()
    token = bind(upload_id="u4", chunk=7)
    try:
        inside = json.loads(formatter.format(_record("IMS answered 503")))
        own = json.loads(formatter.format(_record("chunk done", chunk=8)))
    finally:
        unbind(token)
    after = json.loads(formatter.format(_record("idle")))

    assert (inside["upload_id"], inside["chunk"]) == ("u4", 7)
    assert own["chunk"] == 8  # the call's own extra wins
    assert "upload_id" not in after


def test_task_arguments_become_log_fields_by_parameter_name():
    def process_chunk(upload_id: str, index: int) -> None: ...

    names = {"upload_id": "upload_id", "index": "chunk"}

    assert fields_of_call(process_chunk, ("u5", 2), {}, names) == {"upload_id": "u5", "chunk": 2}
    assert fields_of_call(process_chunk, (), {"upload_id": "u6"}, names) == {"upload_id": "u6"}
    assert fields_of_call(process_chunk, (1, 2, 3), {}, names) == {}


def test_configure_logging_replaces_its_own_handler_and_keeps_others():
    root = logging.getLogger()
    original, level = list(root.handlers), root.level
    others = [h for h in original if not getattr(h, "oms_json", False)]
    first, second = io.StringIO(), io.StringIO()
    try:
        configure_logging("INFO", first)
        configure_logging("DEBUG", second)
        logging.getLogger("oms.test").info("hello", extra={"upload_id": "u7"})

        ours = [h for h in root.handlers if getattr(h, "oms_json", False)]
        assert len(ours) == 1
        assert all(h in root.handlers for h in others)
        assert first.getvalue() == ""
        assert json.loads(second.getvalue())["upload_id"] == "u7"
        assert root.level == logging.DEBUG
    finally:
        root.handlers[:] = original
        root.setLevel(level)
