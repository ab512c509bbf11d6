"""GET /invalid-files and GET /invalid-files/<name>: the invalid-records CSVs."""

from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from oms.api.schemas import InvalidFileSchema
from oms.uploads import invalid_files

blp = Blueprint("invalid_files", __name__, description="Invalid-records files")


@blp.route("/invalid-files")
class InvalidFiles(MethodView):
    @blp.response(200, InvalidFileSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every invalid-records file, newest first."""
        files = invalid_files.list_files()
        for item in files:
            item["url"] = url_for("invalid_files.InvalidFile", name=item["name"])
        return files


@blp.route("/invalid-files/<name>")
class InvalidFile(MethodView):
    @blp.response(200, description="the CSV file", content_type="text/csv")
    @blp.alt_response(404, description="no such file")
    def get(self, name: str) -> Response:
        """Download one invalid-records file (streamed)."""
        return Response(
            stream_with_context(invalid_files.read_file(name)),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="invalid-{name}"'},
        )
