"""Saved column mappings: PUT, GET and DELETE /mappings/<name>, GET /mappings."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from oms.api.schemas import ApiErrorSchema, MappingArgsSchema, MappingSchema
from oms.uploads import mappings

blp = Blueprint(
    "mappings", __name__, description="Column mappings saved for files from the same source"
)


def present(doc: dict[str, Any]) -> dict[str, Any]:
    return {"name": doc["_id"], "columns": doc["columns"], "saved_at": doc["saved_at"]}


@blp.route("/mappings")
class Mappings(MethodView):
    @blp.response(200, MappingSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every saved mapping, by name."""
        return [present(doc) for doc in mappings.listed()]


@blp.route("/mappings/<name>")
class MappingByName(MethodView):
    @blp.response(200, MappingSchema)
    @blp.alt_response(404, schema=ApiErrorSchema, description="no mapping of that name")
    def get(self, name: str) -> dict[str, Any]:
        """One saved mapping."""
        return present(mappings.get(name))

    @blp.arguments(MappingArgsSchema, location="json")
    @blp.response(200, MappingSchema)
    @blp.alt_response(422, schema=ApiErrorSchema, description="the mapping cannot be applied")
    def put(self, args: dict[str, Any], name: str) -> dict[str, Any]:
        """Save (or replace) a mapping: ``columns`` is file column -> OMS column. Upload
        with ``?mapping_name=<name>`` to use it."""
        return present(mappings.save(name, args["columns"]))

    @blp.response(204)
    @blp.alt_response(404, schema=ApiErrorSchema, description="no mapping of that name")
    def delete(self, name: str) -> None:
        """Forget a saved mapping (uploads made with it keep their copy)."""
        mappings.delete(name)
