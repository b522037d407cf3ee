"""The bridge between SpiffWorkflow's script engine and our restricted evaluator.

SpiffWorkflow's default engine is plain ``eval``/``exec`` with every builtin; a
deserialized workflow gets that default again, so :func:`engine.runtime` sets this one
on every load. Service tasks call registered operators through :meth:`call_service`
(the library's own error path has a ``NameError``, so it is replaced here whole); an
operator's :class:`~engine.errors.OperatorError` leaves it marked with the task, for
:func:`engine.runtime._advance` to throw as a BPMN error.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from . import clock
from .errors import EngineError, OperatorError, ScriptError
from .sandbox import RestrictedEvaluator

if TYPE_CHECKING:
    from .calendar import WorkingCalendar
    from .operators import StepContext


def _moment(value) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.VIETNAM)
    return moment


class _Datetimes:
    """``datetime`` in a diagram: builds and parses moments, and ``datetime.now()`` /
    ``datetime.today()`` read the engine's clock (naive, Vietnam time, as SpiffWorkflow's own
    ``datetime.now()`` gives server-local time). Its values are plain ``datetime`` objects."""

    def __call__(self, *args, **kwargs) -> datetime:
        return datetime(*args, **kwargs)

    def now(self, tz=None) -> datetime:
        moment = clock.now()
        return moment.astimezone(tz) if tz else moment.astimezone(clock.VIETNAM).replace(
            tzinfo=None)

    def today(self) -> datetime:
        return self.now()

    def fromisoformat(self, text: str) -> datetime:
        return datetime.fromisoformat(text)


def diagram_functions(calendar: WorkingCalendar, step: StepContext | None = None) -> dict:
    """The helpers available to every expression in a diagram. Moments are ISO 8601 strings,
    which is what SpiffWorkflow's timer events expect. ``step`` is the running dossier's
    context (None where no dossier runs: deploy-time checks, migration trials). ``datetime``
    and ``timedelta`` are there for scripts that compute with moments."""

    def now() -> str:
        return clock.now().isoformat()

    def working_days(n: int, start=None) -> str:
        return calendar.add_working_days(_moment(start) if start else clock.now(), int(n)).isoformat()

    def working_days_before(moment, n: int) -> str:
        return calendar.subtract_working_days(_moment(moment), int(n)).isoformat()

    def hours(n: float, start=None) -> str:
        return calendar.add_hours(_moment(start) if start else clock.now(), n).isoformat()

    def days(n: int, start=None) -> str:
        return calendar.add_days(_moment(start) if start else clock.now(), int(n)).isoformat()

    def appointment() -> str | None:
        """The dossier's appointment date as it is now (moved by supplements and apologies),
        unlike ``dossier['due_at']``, which the data got when the step that wrote it ran."""
        if step is None:
            raise ScriptError("appointment() is only available while a dossier runs.",
                              vi="appointment() chỉ dùng được khi hồ sơ đang được xử lý.")
        due = step.dossier.due_at
        return due.astimezone(UTC).isoformat() if due is not None else None

    return {"now": now, "working_days": working_days, "working_days_before": working_days_before,
            "hours": hours, "days": days, "appointment": appointment,
            "datetime": _Datetimes(), "timedelta": timedelta}


def portable_functions(overrides: dict, has_step: bool, due_at: datetime | None,
                       clock_offset: timedelta, day_times: tuple | None = None) -> dict:
    """:func:`diagram_functions` rebuilt in a script worker process (:mod:`engine.script_pool`)
    from what :func:`make_evaluator`'s recipe sent: the calendar's overrides and its times of
    day (``(close_of_day, afternoon_cutoff)``; the calendar's defaults when None), the
    dossier's appointment and the clock's offset (moved in tests).

    The calendar is made once per worker for the same overrides and times (making one reads
    the holiday tables: several times the cost of a typical script); the helpers around it
    are made per script, as in the step's own process."""
    clock._offset = clock_offset
    step = types.SimpleNamespace(dossier=types.SimpleNamespace(due_at=due_at)) if has_step \
        else None
    return diagram_functions(_worker_calendar(overrides, day_times), step)


#: The calendars a script worker has made, by overrides and times of day (a few at most: a
#: province's calendar changes when a day off is announced or a setting is changed).
_CALENDARS: dict[tuple, WorkingCalendar] = {}
_CALENDARS_KEPT = 8


def _worker_calendar(overrides: dict, day_times: tuple | None) -> WorkingCalendar:
    from .calendar import WorkingCalendar

    key = (tuple(sorted(overrides.items())), day_times)
    calendar = _CALENDARS.get(key)
    if calendar is None:
        if day_times:
            close_of_day, afternoon_cutoff = day_times
            calendar = WorkingCalendar(overrides, close_of_day=close_of_day,
                                       afternoon_cutoff=afternoon_cutoff)
        else:
            calendar = WorkingCalendar(overrides)
        if len(_CALENDARS) >= _CALENDARS_KEPT:
            _CALENDARS.clear()
        _CALENDARS[key] = calendar
    return calendar


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates diagram code with :class:`RestrictedEvaluator` over the task data."""

    def __init__(self, evaluator: RestrictedEvaluator):
        super().__init__({})
        self.evaluator = evaluator

    def evaluate(self, expression, context, external_context=None) -> Any:
        scope = dict(context)
        if external_context:
            scope.update(external_context)
        return self.evaluator.evaluate(expression, scope)

    def execute(self, script, context, external_context=None) -> bool:
        self.evaluator.execute(script, context)
        return True

    def call_service(self, context, **kwargs) -> str:  # pragma: no cover - the engine overrides it
        raise NotImplementedError


class MotcuaScriptEngine(PythonScriptEngine):
    """One per step: it carries the step's context, which operators act on."""

    def __init__(self, step: StepContext | None, evaluator: RestrictedEvaluator):
        super().__init__(environment=SandboxEnvironment(evaluator))
        self.step = step

    def evaluate(self, task, expression, external_context=None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except ScriptError as exc:
            raise WorkflowTaskException(f"{exc.message} in expression {expression!r}",
                                        task=task, exception=exc) from exc

    def execute(self, task, script, external_context=None) -> bool:
        try:
            return self.environment.execute(script, task.data, external_context)
        except ScriptError as exc:
            raise WorkflowTaskException(exc.message, task=task, exception=exc) from exc

    def call_service(self, task, operation_name=None, operation_params=None,
                     **kwargs) -> str:
        from .operators import call

        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        try:
            result = call(self.step, task, operation_name, params)
        except OperatorError as exc:  # a business error: the engine throws it as a BPMN error
            exc.task_id = str(task.id)
            exc.motcua_element = task.task_spec.bpmn_id  # named by the operations console
            raise
        except EngineError:
            raise
        except Exception as exc:  # a bug in the operator, not in the diagram: raised as it is
            exc.motcua_operator = operation_name
            exc.motcua_element = task.task_spec.bpmn_id
            raise
        return json.dumps(result if result is not None else {})


def make_evaluator(calendar: WorkingCalendar, timeout: float = 1.0, *,
                   step: StepContext | None = None, pool=None) -> RestrictedEvaluator:
    """The evaluator of one step's expressions; ``step`` gives helpers such as
    ``appointment()`` the running dossier; with a ``pool``, scripts the sandbox cannot prove
    cheap run in its worker processes, with the same helpers rebuilt there."""

    def recipe() -> tuple:
        due = step.dossier.due_at if step is not None else None
        return ("engine.scripting:portable_functions",
                (dict(calendar.overrides), step is not None, due, clock._offset,
                 (calendar.close_of_day, calendar.afternoon_cutoff)))

    return RestrictedEvaluator(diagram_functions(calendar, step), timeout=timeout, pool=pool,
                               recipe=recipe if pool is not None else None)


def check_expression(evaluator: RestrictedEvaluator) -> Callable[[str, str], list[str]]:
    """A deploy-time checker: the static errors of an expression or script."""

    def check(source: str, mode: str = "eval") -> list[str]:
        return evaluator.validate(source, mode)

    # Deploy also tries expressions that need no task data (a timer's ``working_days(5)``)
    # to see that their value is of the kind the element needs.
    check.evaluator = evaluator  # type: ignore[attr-defined]
    return check
