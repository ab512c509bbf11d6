"""GET /invalid-files and GET /invalid-files/<name>: the invalid-records CSVs."""

from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from oms.api.schemas import InvalidFileSchema
from oms.errors import NotFound
from oms.stores import s3
from oms.uploads import keys

blp = Blueprint("invalid_files", __name__, description="Invalid-records files")


@blp.route("/invalid-files")
class InvalidFiles(MethodView):
    @blp.response(200, InvalidFileSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every invalid-records file, newest first."""
        files: list[dict[str, Any]] = [
            {
                "name": name,
                "size": obj["Size"],
                "upload_id": name.removesuffix(".csv"),
                "last_modified": obj["LastModified"],
            }
            for obj in s3.list_keys(keys.INVALID_PREFIX)
            if (name := keys.invalid_file_of(obj["Key"]))
        ]
        files.sort(key=lambda f: f["last_modified"], reverse=True)
        for item in files:
            item["url"] = url_for("invalid_files.InvalidFile", name=item["name"])
        return files


@blp.route("/invalid-files/<name>")
class InvalidFile(MethodView):
    @blp.response(200, description="the CSV file", content_type="text/csv")
    @blp.alt_response(404, description="no such file")
    def get(self, name: str) -> Response:
        """Download one invalid-records file (streamed)."""
        if not keys.is_invalid_file_name(name):
            raise NotFound(f"no invalid-records file named {name!r}")
        body = s3.open_stream(keys.key_of_invalid_file(name))
        return Response(
            stream_with_context(body.iter_chunks(256 * 1024)),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="invalid-{name}"'},
        )
