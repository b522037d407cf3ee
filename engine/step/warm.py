"""Workflows kept deserialized between steps, per process.

Restoring a saved workflow (JSON → task objects) is a good part of a step's client time. A
step that has committed leaves its workflow here, with the bytes it saved; the dossier's
next step in this process takes it instead of restoring the state, when what it read under
the row lock is still those very bytes (no other process, no migration, no later step has
written since) and the version is the same. Otherwise it restores the state as before.

The copy is private: :meth:`WarmWorkflows.take` removes the entry, so two steps never share
one workflow object, and a step puts its workflow back only once its transaction has
committed (a step that rolls back leaves nothing, and the next one restores the state).
A workflow whose data JSON does not keep exactly (a tuple, a set, non-string keys…) is not
kept: restored, it would differ from the live one (:func:`engine.spiff.dump_state_checked`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..unit import unit_of


@dataclass(frozen=True, eq=False)
class Warm:
    """A committed step's workflow and what it needed when it was saved."""

    version: tuple[int, str]
    code: str
    process_id: str | None
    state: bytes
    workflow: object
    wanted: object  # engine.step.rows.Wanted of the saved workflow


class WarmWorkflows:
    """At most ``size`` workflows, the most recently saved kept."""

    def __init__(self, size: int = 128):
        self.size = size
        self.items: OrderedDict[int, Warm] = OrderedDict()
        self.lock = threading.Lock()

    def take(self, dossier, version, state: bytes):
        """The dossier's kept workflow if it is the one ``state`` saved, as
        ``(workflow, wanted)``; else None. Either way the entry is gone."""
        with self.lock:
            warm = self.items.pop(dossier.id, None)
        if (warm is None or warm.version != (version.id, version.content_hash)
                or warm.code != dossier.code or warm.process_id != (dossier.process_id or None)
                or warm.state != bytes(state)):
            return None
        return warm.workflow, warm.wanted

    def keep(self, session: Session, dossier, version, state: bytes, workflow,
             wanted) -> None:
        """Keep ``workflow`` (saved as ``state``) once the transaction has committed."""
        warm = Warm((version.id, version.content_hash), dossier.code,
                    getattr(workflow, "process_id", None), state, workflow, wanted)
        dossier_id = dossier.id
        unit_of(session).after_commit.append(lambda: self._put(dossier_id, warm))

    def _put(self, dossier_id: int, warm: Warm) -> None:
        warm.workflow.script_engine = None  # the step's session and context go with the step
        with self.lock:
            self.items[dossier_id] = warm
            self.items.move_to_end(dossier_id)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def forget(self, dossier_id: int) -> None:
        with self.lock:
            self.items.pop(dossier_id, None)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


WARM = WarmWorkflows()
