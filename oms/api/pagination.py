"""The body of a listing page: items, the next cursor and a link that follows it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request, url_for

from oms.stores.pages import Page


def page_body(page: Page, present: Callable[[dict], dict], args: dict[str, Any]) -> dict:
    next_url = None
    if page.next is not None:
        query: dict[str, Any] = {
            **{k: v for k, v in request.args.items() if k != "cursor"},
            "cursor": page.next,
        }
        assert request.endpoint is not None  # set while a view handles the request
        next_url = url_for(request.endpoint, **(request.view_args or {}), **query)
    return {
        "items": [present(item) for item in page.items],
        "page_size": args["page_size"],
        "next": page.next,
        "next_url": next_url,
    }
