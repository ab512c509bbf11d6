"""The OMS API seen from the command line: one method per endpoint.

requests' exceptions and the API's error bodies are translated here into the CLI's own
errors (``ApiRefused`` for 4xx, ``ApiUnavailable`` for no answer or 5xx), so commands
never handle HTTP details.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from oms.cli.errors import ApiRefused, ApiUnavailable
from oms.cli.multipart import MultipartFile

CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 120
# The API answers an upload only once the whole file is in S3.
UPLOAD_READ_TIMEOUT_S = 900
DOWNLOAD_BLOCK_BYTES = 256 * 1024


@dataclass(frozen=True)
class UploadOptions:
    """How `oms upload` and `oms check` send a file (POST /upload's query)."""

    chunk_rows: int | None = None
    mapping: dict[str, str] | None = None
    mapping_name: str | None = None
    force: bool = False
    check: bool = False


class ApiClient:
    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "oms-cli"
        if api_key:
            self.session.headers["X-API-Key"] = api_key

    def upload(self, body: MultipartFile, options: UploadOptions | None = None) -> dict:
        """POST /upload, streaming ``body``; returns the accepted upload (202)."""
        options = options or UploadOptions()
        params: dict[str, object] = {}
        if options.chunk_rows:
            params["chunk_rows"] = options.chunk_rows
        if options.force:
            params["force"] = "true"
        if options.check:
            params["check"] = "true"
        if options.mapping:
            params["mapping"] = json.dumps(options.mapping)
        if options.mapping_name:
            params["mapping_name"] = options.mapping_name
        return self._json(
            "POST",
            "/upload",
            params=params or None,
            data=body,
            headers={"Content-Type": body.content_type},
            timeout=(CONNECT_TIMEOUT_S, UPLOAD_READ_TIMEOUT_S),
        )

    def commit(self, upload_id: str) -> dict:
        """POST /uploads/<id>/commit: the checked file as a real upload (202)."""
        return self._json("POST", f"/uploads/{_segment(upload_id)}/commit")

    def save_mapping(self, name: str, columns: dict[str, str]) -> dict:
        return self._json("PUT", f"/mappings/{_segment(name)}", json={"columns": columns})

    def list_mappings(self) -> list[dict]:
        body = _json_body(self._request("GET", "/mappings"))
        if not isinstance(body, list):
            raise ApiUnavailable("GET /mappings did not answer with the OMS API's JSON")
        return body

    def delete_mapping(self, name: str) -> None:
        self._request("DELETE", f"/mappings/{_segment(name)}")

    def add_webhook(self, url: str, events: list[str], secret: str | None = None) -> dict:
        body: dict[str, object] = {"url": url, "events": events}
        if secret:
            body["secret"] = secret
        return self._json("POST", "/webhooks", json=body)

    def list_webhooks(self) -> list[dict]:
        body = _json_body(self._request("GET", "/webhooks"))
        if not isinstance(body, list):
            raise ApiUnavailable("GET /webhooks did not answer with the OMS API's JSON")
        return body

    def webhook_deliveries(self, webhook_id: str) -> list[dict]:
        body = _json_body(self._request("GET", f"/webhooks/{_segment(webhook_id)}/deliveries"))
        if not isinstance(body, list):
            raise ApiUnavailable("GET /webhooks/<id>/deliveries did not answer with JSON")
        return body

    def delete_webhook(self, webhook_id: str) -> None:
        self._request("DELETE", f"/webhooks/{_segment(webhook_id)}")

    def get_upload(self, upload_id: str) -> dict:
        return self._json("GET", f"/uploads/{_segment(upload_id)}")

    def list_uploads(
        self, cursor: str | None = None, page_size: int = 20, status: str | None = None
    ) -> dict:
        params = {"cursor": cursor, "page_size": page_size, "status": status}
        return self._json("GET", "/uploads", params=_present(params))

    def retry_upload(self, upload_id: str) -> dict:
        return self._json("POST", f"/uploads/{_segment(upload_id)}/retry")

    def cancel_upload(self, upload_id: str) -> dict:
        """POST /uploads/<id>/cancel: stop its chunks not yet run (202)."""
        return self._json("POST", f"/uploads/{_segment(upload_id)}/cancel")

    def undo_upload(self, upload_id: str) -> dict:
        """POST /uploads/<id>/undo: cancel every order it stored, in the background."""
        return self._json("POST", f"/uploads/{_segment(upload_id)}/undo")

    def list_orders(
        self,
        cursor: str | None = None,
        page_size: int = 20,
        status: str | None = None,
        hub_id: str | None = None,
        upload_id: str | None = None,
    ) -> dict:
        params = {
            "cursor": cursor,
            "page_size": page_size,
            "status": status,
            "hub_id": hub_id,
            "upload_id": upload_id,
        }
        return self._json("GET", "/orders", params=_present(params))

    def get_order(self, order_id: str) -> dict:
        return self._json("GET", f"/orders/{_segment(order_id)}")

    def cancel_order(self, order_id: str, reason: str | None = None) -> dict:
        body = {"reason": reason} if reason else {}
        return self._json("POST", f"/orders/{_segment(order_id)}/cancel", json=body)

    def move_order(self, order_id: str, status: str, reason: str | None = None) -> dict:
        body = {"status": status, **({"reason": reason} if reason else {})}
        return self._json("POST", f"/orders/{_segment(order_id)}/status", json=body)

    def stats(self) -> dict:
        return self._json("GET", "/stats")

    def invalid_file(self, name: str) -> Iterator[bytes]:
        """The blocks of an invalid-records file. The request is made now, so a refusal
        is raised before the caller creates its output file."""
        response = self._request("GET", f"/invalid-files/{_segment(name)}", stream=True)
        return self._blocks(response)

    def _blocks(self, response: requests.Response) -> Iterator[bytes]:
        with response:
            try:
                yield from response.iter_content(DOWNLOAD_BLOCK_BYTES)
            except requests.RequestException as exc:
                raise ApiUnavailable(
                    f"the download from {self.base_url} broke off: {_short_reason(exc)}"
                ) from exc

    def _json(self, method: str, path: str, **kwargs: Any) -> dict:
        response = self._request(method, path, **kwargs)
        body = _json_body(response)
        if not isinstance(body, dict):
            raise ApiUnavailable(
                f"{method} {response.url} did not answer with the OMS API's JSON",
                ["is --api-url (OMS_API_URL) the OMS API?"],
            )
        return body

    def _request(
        self,
        method: str,
        path: str,
        *,
        timeout: tuple[float, float] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                timeout=timeout or (CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
                **kwargs,
            )
        except requests.Timeout as exc:
            raise ApiUnavailable(
                f"the OMS API at {self.base_url} did not answer in time ({method} {path})"
            ) from exc
        except requests.RequestException as exc:
            raise ApiUnavailable(
                f"cannot reach the OMS API at {self.base_url}: {_short_reason(exc)}",
                ["is it running? Its address is --api-url (OMS_API_URL)"],
            ) from exc
        if response.status_code >= 400:
            raise _error_from(response)
        return response


def _error_from(response: requests.Response) -> ApiRefused | ApiUnavailable:
    body = _json_body(response)
    if not (isinstance(body, dict) and isinstance(body.get("message"), str)):
        body = {
            "code": f"http_{response.status_code}",
            "message": f"{response.status_code} {response.reason}",
        }
    if response.status_code >= 500:
        return ApiUnavailable(
            f"the OMS API failed: {body['message']} "
            f"({response.status_code} {body.get('code', '')})".rstrip()
        )
    code = str(body.get("code", "error"))
    return ApiRefused(
        response.status_code, code, body["message"], body, _refusal_details(code, body)
    )


def _refusal_details(code: str, body: dict) -> list[str]:
    """Lines that make a refusal actionable, beyond the API's one-line message."""
    if code == "missing_columns" and body.get("missing"):
        details = [f"missing columns: {', '.join(body['missing'])}"]
        hints = body.get("suggestions") or {}
        if hints:
            maps = " ".join(f"--map {found}={wanted}" for wanted, found in hints.items())
            details.append(f"if those are the file's names for them, upload with: {maps}")
        return details
    if code in ("unauthorized", "forbidden"):
        return ["give the API key with --api-key or OMS_API_KEY"]
    details = []
    for field, messages in _flatten(body.get("fields") or {}):
        details.append(f"{field}: {messages}")
    return details


def _flatten(fields: dict, prefix: str = "") -> Iterator[tuple[str, str]]:
    """webargs errors are nested by location (``{"query": {"page": ["..."]}}``)."""
    for name, value in fields.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{name}.")
        else:
            text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
            yield prefix + name, text


def _json_body(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _present(params: dict) -> dict:
    return {name: value for name, value in params.items() if value is not None}


def _segment(value: str) -> str:
    return quote(value, safe="")


def _short_reason(exc: requests.RequestException) -> str:
    """'Connection refused' rather than urllib3's nested repr of the pool and socket."""
    text = str(exc)
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if match:
        return match.group(1).strip()
    return text if len(text) < 200 else type(exc).__name__
