"""Errors the engine raises; web/ maps each class to one HTTP status in one place.

Every message says what was wrong and what to do about it. ``messages`` carries the
Vietnamese and English text; ``details`` the machine-readable part (field errors,
file/element locations).
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class. ``status`` is the HTTP status web/ uses for it."""

    status = 400

    def __init__(self, message: str, *, vi: str | None = None, details: list | dict | None = None):
        super().__init__(message)
        self.message = message
        self.vi = vi or message
        self.details = details if details is not None else []

    def to_dict(self) -> dict:
        return {"error": type(self).__name__, "message": self.message, "message_vi": self.vi,
                "details": self.details}


class NotFound(EngineError):
    status = 404


class PermissionDenied(EngineError):
    status = 403


class Conflict(EngineError):
    """The action lost a race or repeats one already done (a task completed twice)."""

    status = 409


class InvalidData(EngineError):
    """Submitted data does not satisfy a form; ``details`` lists ``{field, message}``."""

    status = 422


class InvalidBundle(EngineError):
    """A procedure bundle failed validation; ``details`` lists ``{file, element, message}``."""

    status = 422


class ScriptError(EngineError):
    """An expression or script in a diagram failed or tried something forbidden."""

    status = 422


class OperatorError(EngineError):
    """A service operator's business failure, e.g. ``OperatorError("BUDGET_CLOSED", "…")``.

    The engine turns it into a BPMN error with ``code``, so an error boundary event on the
    service task (or on a sub-process around it) takes the diagram's error path. When nothing
    catches it, the whole step rolls back with this error.
    """

    status = 422

    def __init__(self, code: str, message: str, *, vi: str | None = None,
                 details: list | dict | None = None):
        super().__init__(message, vi=vi, details=details)
        self.code = code
