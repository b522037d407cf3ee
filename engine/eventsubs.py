"""Event sub-processes: steps that start inside a running dossier when a signal is thrown
in it, interrupting the rest of the process or running beside it.

SpiffWorkflow 3.2 starts an event sub-process of the workflow's top process when an event
its start event waits for is thrown, and never interrupts the process around it; it starts
one whose start event is a timer (or none) together with the process, so that the dossier
could not end until the timer fired. The platform therefore runs:

- an event sub-process drawn directly in the process a dossier runs (its main process or
  a cooperating one), not inside a sub-process or a called process, where nothing would
  start it;
- with one start event, a signal: a signal stays inside its dossier, so the sub-process
  starts on a signal thrown by the same dossier;
- interrupting (the BPMN default) or not (``isInterrupting="false"``). An interrupting one
  cancels every other unfinished step of the process when it starts (at the end of the
  engine's pass in which the signal was thrown: steps that were ready together with the
  throw finish), and the dossier ends when it ends. :func:`mark` tells the parsed spec
  which ones interrupt (a ``spiffworkflow:property``, added to the parser's copy of the
  diagram only), and :func:`interrupt` does the cancelling (called by
  ``engine.spiff.MotcuaWorkflow``).

The library wires a triggered event sub-process into its process's spec (after the
process's start, before its end) the first time it starts, in memory only; a dossier's
workflow is restored from the version's stored specs, where that wiring would be missing
and the finished sub-process would lead nowhere. :func:`wire` does it once at deploy.

A timer, message or conditional start event of an event sub-process is refused with
advice: a boundary event on an embedded sub-process around the steps does the same.
"""

from __future__ import annotations

from collections.abc import Callable

from SpiffWorkflow.util.task import TaskState

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
MARK = "motcuaInterrupting"

START_ADVICE = ("an event sub-process starts here only on a signal thrown in its dossier; "
                "for a timer, a message or a condition attach a boundary event (interrupting "
                "or not) to an embedded sub-process around the steps it concerns")


def is_event_sub(el) -> bool:
    return el is not None and el.tag == f"{BPMN}subProcess" and \
        el.get("triggeredByEvent") == "true"


def _starts(sub) -> list:
    return [c for c in sub if c.tag == f"{BPMN}startEvent"]


def check(sub, tops: set[str], bad: Callable[[str], None],
          signal_ok: Callable[[object], bool]) -> None:
    """Refuse event sub-process ``sub`` unless it can run (see the module docstring).
    ``tops``: the processes a dossier runs; ``signal_ok(definition)`` checks a signal
    reference (and reports it when bad)."""
    parent = sub.getparent()
    if parent.tag != f"{BPMN}process":
        bad("an event sub-process runs only directly in a process, where its start event "
            "is listened for: draw it beside the steps at the process's top level, or attach "
            "a boundary event to the sub-process around them")
        return
    if parent.get("id") not in tops:
        bad(f"an event sub-process runs only in a process a dossier runs; process "
            f"{parent.get('id')!r} is called or is a pool, where nothing would start it: "
            "attach a boundary event to the call activity instead")
        return
    starts = _starts(sub)
    if len(starts) != 1:
        bad("an event sub-process has exactly one start event (a signal start event)")
        return
    definitions = [c for c in starts[0] if isinstance(c.tag, str)
                   and c.tag.endswith("EventDefinition")]
    if [d.tag for d in definitions] != [f"{BPMN}signalEventDefinition"]:
        bad(START_ADVICE)
        return
    signal_ok(definitions[0])


def mark(roots: dict) -> None:
    """Mark each interrupting event sub-process of ``roots`` (parsed diagrams, the parser's
    copies) with the property :func:`interrupting` reads from its spec."""
    for root in roots.values():
        for sub in root.iter(f"{BPMN}subProcess"):
            starts = _starts(sub) if is_event_sub(sub) else []
            if len(starts) != 1 or starts[0].get("isInterrupting") == "false":
                continue
            extensions = sub.find(f"{BPMN}extensionElements")
            if extensions is None:
                extensions = sub.makeelement(f"{BPMN}extensionElements")
                sub.insert(0, extensions)
            properties = extensions.find(f"{SPIFF}properties")
            if properties is None:
                properties = extensions.makeelement(f"{SPIFF}properties")
                extensions.append(properties)
            properties.append(properties.makeelement(f"{SPIFF}property",
                                                     name=MARK, value="true"))


def wire(process_specs) -> None:
    """Give each event sub-process that an event starts its place in its process's spec
    (coming from the start, going to the end), as the library does when it first starts
    one, without the start starting it: the start task's outputs are left as they are."""
    for process in process_specs:
        start = process.start
        for name in getattr(start, "trigger_specs", None) or []:
            sub = process.task_specs.get(name)
            if sub is not None and start.name not in sub._inputs:
                sub._inputs.append(start.name)
                sub.connect(process.end)


def interrupting(spec) -> bool:
    """Whether task spec ``spec`` is an event sub-process that interrupts its process."""
    properties = (getattr(spec, "extensions", None) or {}).get("properties") or {}
    return properties.get(MARK) == "true"


def interrupt(started) -> None:
    """Cancel every unfinished task of the workflow of ``started`` (an interrupting event
    sub-process that has just started) but ``started`` itself: the process's other steps,
    its waiting events and sub-processes, and other event sub-processes under way. The
    process's end is then reached through ``started`` (the library reaches it through the
    process's own end events, which are cancelled)."""
    todo = [started.workflow.task_tree]
    while todo:
        task = todo.pop()
        if task is started:
            continue
        if task.has_state(TaskState.FINISHED_MASK):
            todo.extend(task.children)
        else:
            task.cancel()
    started.task_spec._predict(started, mask=TaskState.NOT_FINISHED_MASK)
