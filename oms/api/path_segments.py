"""Path parameters (order ids, upload ids, file names) as the API accepts them: one path
segment of at most 200 printable characters.

Anything else matches no route, so it is a 404 before a view or a store sees it: a NUL
in an order id used to reach FerretDB, whose PostgreSQL jsonb cannot hold one, and came
back as a 500. Installed as Flask's default converter, so every ``<name>`` in a route
gets it, and documented in OpenAPI with its bounds.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import Map, UnicodeConverter

MAX_LENGTH = 200
_CHARACTERS = r"[^/\x00-\x1f\x7f]"


class PrintableSegment(UnicodeConverter):
    def __init__(
        self, map: Map, minlength: int = 1, maxlength: int = MAX_LENGTH, length: int | None = None
    ) -> None:
        super().__init__(map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", _CHARACTERS, 1)


def parameter_schema(converter: PrintableSegment) -> dict[str, Any]:
    bounds = converter.regex.removeprefix(_CHARACTERS).strip("{}").split(",")
    return {
        "type": "string",
        "minLength": int(bounds[0]),
        "maxLength": int(bounds[-1]),
        "pattern": f"^{_CHARACTERS}+$",
    }


def install(app: Flask) -> None:
    """Before any route is added."""
    app.url_map.converters["default"] = PrintableSegment
    app.url_map.converters["string"] = PrintableSegment
