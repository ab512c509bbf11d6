"""The project's own exceptions; external libraries' errors are translated into these
at the border of each client module in ``oms.stores``."""


class OMSError(Exception):
    """Base of OMS errors."""


class NotFound(OMSError):
    """The thing asked for does not exist."""


class NoBucket(NotFound):
    """The deployment's bucket is gone: the file store lost its state (moto restarted),
    or OMS_S3_BUCKET names no bucket. What was in it cannot be read again."""


class Unavailable(OMSError):
    """An external system did not answer properly (network, timeout, 5xx). Retry later."""


class Conflict(OMSError):
    """The thing is not in a state that allows what was asked; ``code`` names the case
    for the API's error body (409)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
