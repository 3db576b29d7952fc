"""The errors the evals services raise for a refused request; their `message` is shown to the user as is."""

from __future__ import annotations


class SubmissionError(Exception):
    """A submission (or an action on a run) was refused; `message` is shown to the user as is.

    `code` is stable and machine-readable (`model_not_found`, `gated`, ...); `field` names the input
    the error is about, where there is one.
    """

    def __init__(self, code: str, message: str, *, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status

    def __str__(self) -> str:
        return self.message


class RunStateError(SubmissionError):
    """The run is not in a state that allows the action (cancel a finished run, retry a running one)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, status=409)
