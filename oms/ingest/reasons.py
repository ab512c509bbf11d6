"""Why a row is invalid: a field, a rule and words for people.

A ``Reason`` is the text an operator reads in the invalid-rows file ("field: message"),
and carries its ``field`` and ``rule`` so counts by field and by rule (and the duplicate
count) never depend on the wording.
"""

from __future__ import annotations


class Reason(str):
    """``"<field>: <message>"``, with ``.field`` and ``.rule``."""

    field: str
    rule: str

    def __new__(cls, field: str, rule: str, message: str) -> Reason:
        reason = super().__new__(cls, f"{field}: {message}")
        reason.field = field
        reason.rule = rule
        return reason

    # Keep field and rule through pickling (Celery, multiprocessing).
    def __reduce__(self) -> tuple[type[Reason], tuple[str, str, str]]:
        return (Reason, (self.field, self.rule, self.split(": ", 1)[1]))


class RuleMessage(str):
    """A validation message that knows its rule (raised inside the row schema)."""

    rule: str

    def __new__(cls, rule: str, message: str) -> RuleMessage:
        text = super().__new__(cls, message)
        text.rule = rule
        return text


# Rules that several modules name.
DUPLICATE_IN_FILE = "duplicate_in_file"
DUPLICATE_IN_STORE = "duplicate"  # order_id already stored (an earlier upload or row)
UNKNOWN_SKU = "unknown_sku"
UNKNOWN_HUB = "unknown_hub"
DUPLICATE_RULES = frozenset({DUPLICATE_IN_FILE, DUPLICATE_IN_STORE})
