"""POST /upload and the upload resources."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any

from flask import request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from oms import dispatch
from oms.api.pagination import page_body
from oms.api.schemas import (
    InvalidRowPageSchema,
    PageArgsSchema,
    UploadAcceptedSchema,
    UploadArgsSchema,
    UploadListArgsSchema,
    UploadPageSchema,
    UploadSchema,
)
from oms.config import get_settings
from oms.errors import NotFound
from oms.orders import counts as order_counts
from oms.orders.undo import request_undo
from oms.pipeline import schedule
from oms.pipeline.cancel import cancel_upload
from oms.pipeline.retry import RetryAction, plan_retry
from oms.uploads import mappings
from oms.uploads import repository as repo
from oms.uploads.invalid_rows import invalid_rows
from oms.uploads.listing import list_uploads
from oms.uploads.receive import UploadRefused, receive_upload
from oms.uploads.status import UploadStatus

log = logging.getLogger(__name__)

blp = Blueprint("uploads", __name__, description="Upload order files and follow them")


@blp.route("/upload")
class Upload(MethodView):
    @blp.doc(
        requestBody={
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            }
        }
    )
    @blp.arguments(UploadArgsSchema, location="query", as_kwargs=True)
    @blp.response(202, UploadAcceptedSchema)
    @blp.alt_response(400, description="empty file, no file field, or a malformed multipart body")
    @blp.alt_response(408, description="the body stopped arriving (no byte for 60 s)")
    @blp.alt_response(413, description="larger than OMS_MAX_UPLOAD_BYTES")
    @blp.alt_response(415, description="not a CSV file, or an .xlsx that is not a workbook")
    @blp.alt_response(409, description="a completed upload had the same content (see `force`)")
    @blp.alt_response(422, description="required columns missing (named in the message)")
    def post(
        self,
        chunk_rows: int | None = None,
        force: bool = False,
        mapping: str | None = None,
        mapping_name: str | None = None,
        check: bool = False,
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Upload an order CSV (multipart field ``file``); processing starts at once.
        A file whose content a completed upload already had is refused with 409 naming
        that upload, unless ``force``. With ``check``, the file is only checked (every
        row validated, IMS asked, the invalid file made) and nothing is stored, published
        or reserved; ``POST /uploads/<id>/commit`` then processes it for real."""
        settings = get_settings()
        if chunk_rows is not None and chunk_rows < settings.min_chunk_rows:
            message = f"chunk_rows must be at least {settings.min_chunk_rows}"
            raise UploadRefused(
                422, "validation_error", message, fields={"query": {"chunk_rows": [message]}}
            )
        columns = column_mapping(mapping, mapping_name)
        received = receive_upload(
            request.stream,
            request.content_type or "",
            settings.max_upload_bytes,
            refuse=None if force or check else refuse_repeated_file,
            mapping=columns,
        )
        repo.create_upload(
            received.upload_id,
            filename=received.filename,
            key=received.key,
            size=received.size,
            sha256=received.sha256,
            chunk_rows=chunk_rows or get_settings().chunk_rows,
            mapping=columns,
            mapping_name=mapping_name,
            check_only=check,
        )
        return accepted(repo.get_upload(received.upload_id))


def accepted(upload: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Send the new upload's split, and answer 202 with where to follow it."""
    upload_id = upload["_id"]
    try:
        dispatch.start_split(upload_id)
    except Exception:  # noqa: BLE001  (the file is stored: the reaper sends it later)
        log.exception("upload %s stored but not queued", upload_id, extra={"upload_id": upload_id})
        repo.mark_enqueue_failed(upload_id)
    status_url = url_for("uploads.UploadById", upload_id=upload_id)
    body = {
        "upload_id": upload_id,
        "status": str(UploadStatus.QUEUED),
        "status_url": status_url,
        "filename": upload["filename"],
        "size": upload["size"],
        "sha256": upload["sha256"],
        "check_only": upload["check_only"],
    }
    return body, 202, {"Location": status_url}


def column_mapping(given: str | None, name: str | None) -> dict[str, str] | None:
    """The upload's column mapping: given as JSON, or saved under ``name``."""
    if given is not None and name is not None:
        message = "give a mapping or the name of a saved one, not both"
        raise UploadRefused(422, "bad_mapping", message, fields={"query": {"mapping": [message]}})
    if name is not None:
        try:
            return dict(mappings.get(name)["columns"])
        except NotFound as exc:
            message = str(exc)
            raise UploadRefused(
                422, "bad_mapping", message, fields={"query": {"mapping_name": [message]}}
            ) from exc
    if given is None:
        return None
    try:
        return mappings.checked(json.loads(given))
    except (ValueError, mappings.BadMapping) as exc:
        message = exc.message if isinstance(exc, mappings.BadMapping) else f"not JSON: {exc}"
        raise UploadRefused(
            422, "bad_mapping", message, fields={"query": {"mapping": [message]}}
        ) from exc


def refuse_repeated_file(sha256: str) -> None:
    """409 when a completed upload had exactly this content (its rows would all come back
    as duplicates)."""
    earlier = repo.completed_upload_with(sha256)
    if earlier is None:
        return
    when = earlier["created_at"].strftime("%Y-%m-%d %H:%M UTC")
    raise UploadRefused(
        409,
        "same_file",
        f"this file was uploaded before: upload {earlier['_id']} ({earlier['filename']}, "
        f"{when}) had exactly this content and completed; its orders are stored. "
        "Send it with ?force=true if you mean to upload it again",
        upload_id=earlier["_id"],
        status_url=url_for("uploads.UploadById", upload_id=earlier["_id"]),
    )


@blp.route("/uploads")
class Uploads(MethodView):
    @blp.arguments(UploadListArgsSchema, location="query")
    @blp.response(200, UploadPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Uploads, newest first; filter by ``status``. Follow ``next`` for the next page
        (null at the end)."""
        page = list_uploads(args["page_size"], args.get("cursor"), args.get("status"))
        return page_body(page, present, args)


@blp.route("/uploads/<upload_id>")
class UploadById(MethodView):
    @blp.response(200, UploadSchema)
    @blp.alt_response(404, description="no such upload")
    def get(self, upload_id: str) -> dict[str, Any]:
        """Progress of one upload: status, chunks, counts so far, timings, invalid file."""
        return present(repo.get_upload(upload_id))


@blp.route("/uploads/<upload_id>/invalid-rows")
class InvalidRows(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, InvalidRowPageSchema)
    @blp.alt_response(404, description="no such upload")
    def get(self, args: dict[str, Any], upload_id: str) -> dict[str, Any]:
        """The upload's invalid rows with their reasons, in file order, from the chunks
        done so far (so it fills while the upload runs). Follow ``next`` for the next
        page (null: no more rows yet)."""
        page = invalid_rows(upload_id, args["page_size"], args.get("cursor"))
        return page_body(page, lambda item: item, args)


def present(upload: dict) -> dict:
    """The API's view of an upload document, with chunk progress and links."""
    total = upload.get("chunks_total", 0)
    done = len(upload.get("counted_chunks", []))
    failed = len(upload.get("failed_chunks", []))
    cancelled = len(set(upload.get("cancelled_chunks", [])) - set(upload.get("counted_chunks", [])))
    finished = upload.get("timings", {}).get("finished_at")
    view = dict(upload)
    view["chunks"] = {
        "total": total,
        "done": done,
        "failed": failed,
        "cancelled": cancelled,
        "pending": max(total - done - failed - cancelled, 0),
    }
    view["finished_at"] = finished
    view["duration_s"] = _seconds(upload["created_at"], finished)
    view["status_url"] = url_for("uploads.UploadById", upload_id=upload["_id"])
    name = upload.get("invalid_file")
    view["invalid_file"] = name
    view.setdefault("error", None)
    view.setdefault("failed_chunks", [])
    view["invalid_file_url"] = url_for("invalid_files.InvalidFile", name=name) if name else None
    view["order_status"] = order_counts.for_upload(upload)
    view["invalid_by"] = repo.invalid_by(upload)
    return view


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 3) if end else None


@blp.route("/uploads/<upload_id>/commit")
class CommitCheck(MethodView):
    @blp.response(202, UploadAcceptedSchema)
    @blp.alt_response(404, description="no such upload")
    @blp.alt_response(409, description="not a completed check, or committed already")
    def post(self, upload_id: str) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Process a checked file for real, without sending it again: a new upload of
        the same stored file (``committed_from``), which stores, publishes and reserves."""
        check = repo.get_upload(upload_id)
        if not check.get("check_only") or check["status"] != UploadStatus.COMPLETED:
            raise UploadRefused(
                409,
                "not_a_completed_check",
                f"upload {upload_id} is {'a check' if check.get('check_only') else 'not a check'} "
                f"and {check['status']}: only a completed check (POST /upload?check=true) "
                "can be committed",
            )
        new_id = uuid.uuid4().hex
        if not repo.claim_commit(upload_id, new_id):
            done = repo.get_upload(upload_id)["committed_as"]
            raise UploadRefused(
                409,
                "committed_already",
                f"check {upload_id} was committed already, as upload {done}",
                upload_id=done,
                status_url=url_for("uploads.UploadById", upload_id=done),
            )
        repo.create_upload(
            new_id,
            filename=check["filename"],
            key=check["s3_key"],
            size=check["size"],
            sha256=check["sha256"],
            chunk_rows=check["chunk_rows"],
            mapping=check.get("mapping"),
            mapping_name=check.get("mapping_name"),
            committed_from=upload_id,
        )
        return accepted(repo.get_upload(new_id))


@blp.route("/uploads/<upload_id>/retry")
class RetryUpload(MethodView):
    @blp.response(202, UploadSchema)
    @blp.alt_response(404, description="no such upload")
    @blp.alt_response(409, description="the upload is not failed")
    def post(self, upload_id: str) -> dict[str, Any]:
        """Re-run only the failed chunks of a failed upload, then finalize it again."""
        plan = plan_retry(upload_id)
        if plan.action == RetryAction.SPLIT:
            dispatch.start_split(upload_id)
        else:
            schedule.start(upload_id, add=plan.chunk_indexes)
        return present(repo.get_upload(upload_id))


@blp.route("/uploads/<upload_id>/cancel")
class CancelUpload(MethodView):
    @blp.response(202, UploadSchema)
    @blp.alt_response(404, description="no such upload")
    @blp.alt_response(409, description="not_cancellable: nothing is left to stop")
    def post(self, upload_id: str) -> dict[str, Any]:
        """Stop the upload: chunks not yet run are cancelled, chunks running finish;
        what is stored stays, and is counted. It ends ``cancelled`` (follow
        ``status_url``). A queued or failed upload is cancelled at once. Asking again
        changes nothing."""
        return present(cancel_upload(upload_id))


@blp.route("/uploads/<upload_id>/undo")
class UndoUpload(MethodView):
    @blp.response(202, UploadSchema)
    @blp.alt_response(404, description="no such upload")
    @blp.alt_response(409, description="not_undoable: a check, or an upload still running")
    def post(self, upload_id: str) -> dict[str, Any]:
        """Cancel every order the upload stored, through the status workflow: each
        reservation is given back and an ``order.updated`` event sent; fulfilled orders
        are kept. Runs in the background; ``undo`` in the answer and at ``status_url``
        shows its progress. The upload must be completed, cancelled or failed (cancel a
        running one first). Asking again while it runs changes nothing; after a failed
        undo it goes on from where it stopped."""
        upload, send = request_undo(upload_id)
        if send:
            dispatch.start_undo(upload_id)
        return present(upload)
