"""Service keys: every IMS write needs ``X-Service-Key`` set to one of ``IMS_SERVICE_KEYS``.

No keys configured means no writes at all (secure by default); reads stay open. Keys are
compared in constant time, as bytes: a header value that is not ASCII is simply a wrong
key (403), never an error. Neither the presented nor the configured keys are logged.
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Callable
from typing import TypeVar

from flask import current_app, request

from ims.errors import Forbidden, ImsError, Unauthorized

log = logging.getLogger(__name__)

HEADER = "X-Service-Key"

F = TypeVar("F", bound=Callable)


def check_service_key(presented: str | None, keys: tuple[str, ...]) -> None:
    """Raise Unauthorized (no key, or writes disabled) or Forbidden (wrong key)."""
    if not keys:
        raise Unauthorized("writes are disabled: the service has no IMS_SERVICE_KEYS")
    if not presented:
        raise Unauthorized(f"this endpoint needs the {HEADER} header")
    try:
        candidate = presented.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: cannot be any configured key
        candidate = b""
    # Compare with every key (no early exit), so timing does not tell which one matched.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(candidate, key.encode("utf-8"))
    if not matched:
        raise Forbidden(f"the {HEADER} header does not hold a valid key")


def requires_service_key(view: F) -> F:
    """Decorate a write endpoint; the key is checked before anything else is read."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        try:
            check_service_key(request.headers.get(HEADER), current_app.config["IMS_SERVICE_KEYS"])
        except ImsError as refused:
            # Who was refused, for the operator; never the key that was presented.
            log.warning(
                "write refused (%s): %s %s from %s",
                refused.code,
                request.method,
                request.path,
                request.remote_addr,
            )
            raise
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]
