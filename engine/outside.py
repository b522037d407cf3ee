"""Calls to outside services, made with no dossier locked.

An operator that needs an outside service's answer (the vehicle-tracking provider…) asks
for it with :func:`answer`. Inside :func:`attempts` — the loop every step's transaction
runs in — the first time it is asked, the step gives up (:class:`CallOutside`: the
transaction rolls back, the dossier's lock is released), the call is made with nothing
locked, and the step runs again from the start, this time finding the answer (or the
service's error, raised again where the operator asked). A step runs at most
:data:`MAX_CALLS` + 1 times. Outside such a loop (a caller that holds its own transaction)
the call is made at once, as before: correct, only slower for everyone waiting on the
dossier.

An answer belongs to one request of one user: it is never reused by another step.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: Outside calls one step may make before it runs for good.
MAX_CALLS = 4

_answers: contextvars.ContextVar[dict | None] = contextvars.ContextVar("motcua_outside",
                                                                       default=None)


class CallOutside(Exception):  # noqa: N818  (a signal to the loop, not an error)
    """The step needs ``call()``'s answer first: roll back, call, run again."""

    def __init__(self, key: str, call: Callable[[], Any]):
        super().__init__(key)
        self.key = key
        self.call = call


def answer(key: str, call: Callable[[], T]) -> T:
    """``call()``'s answer for ``key``, made with no lock held when the step runs inside
    :func:`attempts`; an exception ``call`` raised is raised here."""
    known = _answers.get()
    if known is None:
        return call()
    if key not in known:
        raise CallOutside(key, call)
    value = known[key]
    if isinstance(value, BaseException):
        raise value
    return value


def attempts(run: Callable[[], T]) -> T:
    """Run ``run`` (one whole transaction) until it needs no new outside answer."""
    outer = _answers.get()
    if outer is not None:  # already inside a loop: that loop makes the calls
        return run()
    known: dict = {}
    token = _answers.set(known)
    try:
        for _ in range(MAX_CALLS):
            try:
                return run()
            except CallOutside as needed:
                try:
                    known[needed.key] = needed.call()
                except Exception as exc:  # the service's error, raised where it was asked
                    known[needed.key] = exc
        return run()
    finally:
        _answers.reset(token)
