"""Where a persisted lifecycle's time goes.

:class:`Sections` wraps named engine functions (module attributes, restored afterwards;
no engine file is touched) and the database driver's round trips, and charges each
moment to the innermost running section: the times are *exclusive* and add up to the
batch's wall time. :func:`profile` runs a batch under cProfile.
"""

from __future__ import annotations

import cProfile
import functools
import importlib
import io
import pstats
import threading
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

# (module, attribute, section). Order matters only for the report.
WRAPPED = [
    ("engine.dossiers", "submit", "submit body: ORM loads, code, views"),
    ("engine.tasks", "claim", "claim body: ORM loads, checks, views"),
    ("engine.tasks", "complete", "complete body: ORM loads, checks, views"),
    ("bench.fixtures", "open_task_id", "harness: task lookup (the dossier's tasks)"),
    ("engine.runtime", "lock_dossier", "lock_dossier (ORM, SELECT … FOR UPDATE)"),
    ("engine.tasks", "_read_locked", "complete: lock + read task, state, version hash"),
    ("engine.runtime", "_script_engine", "script engine setup (excl. calendar)"),
    ("engine.runtime", "load_calendar", "load_calendar (overrides query; cached calendar)"),
    ("engine.runtime", "load_state", "load_state: JSON → workflow"),
    ("engine.runtime", "_advance", "SpiffWorkflow refresh_timers + do_engine_steps"),
    ("engine.operators", "call", "service-task operators (set_status, notify, …)"),
    ("engine.runtime", "dump_state_checked", "dump_state: workflow → JSON"),
    ("engine.runtime", "_write_rows", "rows: human-task, timer and message rows (Core)"),
    ("engine.audit", "append", "audit.append (queued on the unit of work)"),
    ("engine.audit", "chain", "audit.chain (head lock; insert and head update built)"),
    ("engine.db", "send_pending", "store.send_pending (the step's writes, one statement on PG)"),
    ("engine.forms", "validate", "forms.validate (JSON Schema)"),
    ("engine.forms", "store_uploads", "forms.store_uploads (files)"),
    ("engine.tasks", "_sign", "tasks._sign (load key, endesive, store)"),
    ("signing.render", "render_pdf", "signing.render.render_pdf (fpdf2)"),
    ("signing.keyfiles", "load_signer", "signing.keyfiles.load_signer (decrypt key)"),
    ("signing.sign", "sign_pdf", "signing.sign.sign_pdf (endesive)"),
]
SQL_KINDS = [  # (test on the statement, section); the first match wins
    (lambda s: "procedure_version" in s,
     "SQL: statements returning procedure_version rows (eager joins)"),
    (lambda s: "FROM user_role" in s, "SQL: SELECT user_role (selectin of User.roles)"),
    (lambda s: "audit_head" in s, "SQL: audit_head (row lock, update)"),
    (lambda s: "INSERT INTO audit_event" in s, "SQL: INSERT audit_event"),
    (lambda s: True, "SQL: other statements"),
]
JSON = "JSON decoding of json columns (psycopg loader)"
FLUSH = "ORM Session.flush (unit of work, excl. SQL)"
COMMIT = "COMMIT"
PING = "pool pre-ping (SELECT 1 per checkout)"
ROLLBACK = "rollback / reset on return"


class Sections:
    """Exclusive time per section, per thread; use as a context manager around a batch."""

    def __init__(self, db):
        self.db = db
        self.local = threading.local()
        self.excl: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.statements: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        self.undo: list = []

    # the stack of running sections of this thread: [name, started]
    def _stack(self) -> list:
        if not hasattr(self.local, "stack"):
            self.local.stack = []
        return self.local.stack

    def enter(self, name: str) -> None:
        now = time.perf_counter()
        stack = self._stack()
        if stack:
            with self.lock:
                self.excl[stack[-1][0]] += now - stack[-1][1]
        stack.append([name, now])

    def leave(self) -> None:
        now = time.perf_counter()
        stack = self._stack()
        name, started = stack.pop()
        with self.lock:
            self.excl[name] += now - started
            self.calls[name] += 1
        if stack:
            stack[-1][1] = now

    def wrap(self, func, name: str):
        @functools.wraps(func)
        def timed(*args, **kwargs):
            self.enter(name)
            try:
                return func(*args, **kwargs)
            finally:
                self.leave()
        return timed

    def __enter__(self) -> Sections:
        for module_name, attr, name in WRAPPED:
            module = importlib.import_module(module_name)
            original = getattr(module, attr)
            setattr(module, attr, self.wrap(original, name))
            self.undo.append((module, attr, original))
        self.undo.append((Session, "flush", Session.flush))
        Session.flush = self.wrap(Session.flush, FLUSH)
        dialect = self.db.engine.dialect
        for attr, name in (("do_commit", COMMIT), ("do_ping", PING), ("do_rollback", ROLLBACK)):
            self.undo.append((dialect, attr, None))
            setattr(dialect, attr, self.wrap(getattr(dialect, attr), name))
        if self.db.is_postgres:  # row values are decoded when fetched, after the execute
            from psycopg.types.json import _JsonLoader

            self.undo.append((_JsonLoader, "_loads", _JsonLoader._loads))
            _JsonLoader._loads = self.wrap(_JsonLoader._loads, JSON)
        event.listen(self.db.engine, "before_cursor_execute", self._before)
        event.listen(self.db.engine, "after_cursor_execute", self._after)
        event.listen(self.db.engine, "handle_error", self._error)
        return self

    def _before(self, conn, cursor, statement, *args) -> None:
        self.statements[statement.split(None, 1)[0].upper()] += 1
        self.enter(next(name for test, name in SQL_KINDS if test(statement)))

    def _after(self, *args) -> None:
        self.leave()

    def _error(self, context) -> None:
        stack = self._stack()
        if stack and stack[-1][0].startswith("SQL:"):
            self.leave()

    def __exit__(self, *exc) -> None:
        event.remove(self.db.engine, "before_cursor_execute", self._before)
        event.remove(self.db.engine, "after_cursor_execute", self._after)
        event.remove(self.db.engine, "handle_error", self._error)
        for target, attr, original in reversed(self.undo):
            if original is None:
                delattr(target, attr)  # the instance attribute hid the class's method
            else:
                setattr(target, attr, original)
        self.undo.clear()

    def report(self, wall: float, lifecycles: int, threads: int = 1) -> list[dict]:
        """Rows {section, calls, ms, share} per lifecycle, largest first, plus the rest.
        With threads, times are thread time: the shares are of ``wall × threads``."""
        total = wall * threads
        rows = [{"section": name, "calls": self.calls[name] / lifecycles,
                 "ms": 1000 * t / lifecycles, "share": t / total}
                for name, t in self.excl.items()]
        rest = total - sum(self.excl.values())
        rows.append({"section": "harness loop, outside every section", "calls": 0,
                     "ms": 1000 * rest / lifecycles, "share": rest / total})
        return sorted(rows, key=lambda r: -r["ms"])


REPO = str(Path(__file__).resolve().parent.parent) + "/"
PROFILED = (REPO + "engine/", "SpiffWorkflow", "sqlalchemy", "psycopg", REPO + "signing/")


def profile(run, top: int = 15) -> dict:
    """Run ``run()`` under cProfile: the top entries by cumulative time among the engine,
    SpiffWorkflow, SQLAlchemy, psycopg and signing, and the top by own time from anywhere."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        run()
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    total = stats.total_tt

    def rows(key: int, keep) -> list[dict]:
        out = []
        for (filename, line, func), (_cc, ncalls, tottime, cumtime, _) in sorted(
                stats.stats.items(), key=lambda kv: -kv[1][key]):
            if keep(filename):
                out.append({"function": f"{_short(filename)}:{line}({func})", "calls": ncalls,
                            "tottime_s": tottime, "cumtime_s": cumtime})
            if len(out) == top:
                break
        return out

    return {"total_s": total,
            "cumulative": rows(3, lambda f: any(part in f for part in PROFILED)),
            "own": rows(2, lambda f: True)}


def _short(filename: str) -> str:
    for marker in ("site-packages/", REPO, "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename
