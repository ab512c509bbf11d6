"""Exit codes of the `oms` command and the errors that lead to them.

Every expected failure is one of these; `main` prints its message (no traceback) and
exits with its code, so scripts can tell a refused request from an unreachable API.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UPLOAD_FAILED = 1  # the upload finished, but failed or was rejected
    USAGE = 2  # click's own code for a bad command line
    REFUSED = 3  # the API answered 4xx
    UNAVAILABLE = 4  # the API did not answer, or answered 5xx
    TIMED_OUT = 5  # --timeout passed while waiting for an upload
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


EXIT_CODES_HELP = """\b
Exit codes:
    0  success (for upload and retry --wait: the upload completed)
    1  the upload finished but failed or was rejected
    2  usage error (bad command line)
    3  the API refused the request (4xx); its message is printed
    4  the API is unreachable or answered with a server error (5xx)
    5  timed out waiting for the upload (--timeout); it goes on
  130  interrupted (Ctrl-C); an upload already accepted goes on"""


class CliError(Exception):
    """An expected failure: ``message`` and ``details`` lines are printed to stderr."""

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class ApiRefused(CliError):
    """The API answered 4xx with its error body ``{"code", "message", ...}``."""

    exit_code = ExitCode.REFUSED

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        body: dict | None = None,
        details: list[str] | None = None,
    ) -> None:
        super().__init__(message, details)
        self.status, self.code, self.body = status, code, body or {}


class ApiUnavailable(CliError):
    """No usable answer: connection refused, timeout, 5xx or a body that is not the API's."""

    exit_code = ExitCode.UNAVAILABLE


class WaitTimedOut(CliError):
    """The upload was still running when --timeout passed (it goes on in the background)."""

    exit_code = ExitCode.TIMED_OUT


class Interrupted(CliError):
    """Ctrl-C. Stopping the wait does not stop the upload, which runs in the workers."""

    exit_code = ExitCode.INTERRUPTED


class NotFound(CliError):
    """What was asked for does not exist (as the API's own 404 would say)."""

    exit_code = ExitCode.REFUSED
