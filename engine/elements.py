"""Which BPMN elements the platform runs, and the deploy-time refusal of the others.

SpiffWorkflow's parser quietly turns some elements it does not implement into something
else (a compensation or link event becomes a plain event, a signal end event a plain end)
and implements others in ways a dossier cannot use (a signal reaches every instance). So
the diagram's XML is checked here element by element against what the platform supports,
before SpiffWorkflow sees it; each refusal names the file, the element and what to draw
instead. bpmn/README.md carries the same list as a table.
"""

from __future__ import annotations

from collections.abc import Callable

from . import eventsubs

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"

REFUSED_ELEMENTS = {
    "complexGateway": "complex gateways are not supported: use an exclusive, parallel or "
                      "inclusive gateway",
    "adHocSubProcess": "ad-hoc sub-processes are not supported: model the steps with a parallel "
                       "or inclusive gateway",
    "choreography": "choreographies are not supported: use messages between processes",
    "callChoreography": "choreographies are not supported: use messages between processes",
    "choreographyTask": "choreographies are not supported: use messages between processes",
    "subChoreography": "choreographies are not supported: use messages between processes",
}

DEFINITIONS = {
    "messageEventDefinition": "message", "timerEventDefinition": "timer",
    "errorEventDefinition": "error", "escalationEventDefinition": "escalation",
    "signalEventDefinition": "signal", "conditionalEventDefinition": "conditional",
    "compensateEventDefinition": "compensation", "linkEventDefinition": "link",
    "cancelEventDefinition": "cancel", "terminateEventDefinition": "terminate",
    "eventDefinitionRef": "referenced",
}

ALLOWED = {  # event element -> the event definitions it may carry ("none": no definition)
    "startEvent": {"none"},
    "endEvent": {"none", "terminate", "message", "error", "escalation", "signal", "cancel"},
    "intermediateCatchEvent": {"timer", "message", "signal", "conditional"},
    "intermediateThrowEvent": {"none", "message", "escalation", "signal"},
    "boundaryEvent": {"timer", "message", "error", "escalation", "signal", "conditional",
                      "cancel"},
}
#: what an event with several definitions may combine (it waits for, or throws, each)
MULTIPLE = {"timer", "message", "signal"}

ADVICE = {
    "signal": "a signal start event is not supported (a dossier's process starts when it is "
              "submitted; a signal stays inside its dossier): use a none start event",
    "conditional": "a conditional start or end event is not supported: use a none start "
                   "event, then a conditional catch event",
    "compensation": "compensation is not supported: after an error boundary event, draw the "
                    "steps that undo the work",
    "link": "link events are not supported: draw the sequence flow instead",
    "cancel": "a cancel event belongs to a transaction: a cancel end event inside it, a cancel "
              "boundary event on it",
    "referenced": "event definitions referenced from elsewhere (eventDefinitionRef) are not "
                  "supported: put the definition inside the event",
}

POOL_START = ("a message start event only starts a pool of the collaboration the procedure "
              "runs (process_id names the collaboration), from a message of another pool, "
              "a process listed under cooperating: in procedure.yaml, or the process the "
              "procedure runs (another system's message starts its dossiers)")

START_ADVICE = {
    "timer": "a dossier's process starts when the dossier is submitted: use a none start event "
             "(put a timer catch event after it to wait)",
    "message": "a message start event only starts a process listed under cooperating: in "
               "procedure.yaml (another agency's side, started by this procedure's message); "
               "a dossier's own process starts with a none start event (put a message catch "
               "event after it to wait)",
}


def _local(el) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag[len(BPMN):] if tag.startswith(BPMN) else ""


def _kinds(event) -> list[str]:
    return [DEFINITIONS[_local(c)] for c in event if _local(c) in DEFINITIONS]


class _Documents:
    """The bundle's diagrams, indexed by id across files (messages, errors, call targets)."""

    def __init__(self, roots: dict):
        self.roots = roots
        self.by_id = {}
        for root in roots.values():
            for el in root.iter():
                if _local(el) and el.get("id"):
                    self.by_id.setdefault(el.get("id"), el)
        self.processes = {el.get("id"): el for root in roots.values()
                          for el in root.iter(f"{BPMN}process")}
        self.callers = {}
        for root in roots.values():
            for call in root.iter(f"{BPMN}callActivity"):
                self.callers.setdefault(call.get("calledElement"), []).append(call)
        self.correlations = {}  # message id -> correlation property ids (one per id across files)
        for root in roots.values():
            for expr in root.iter(f"{BPMN}correlationPropertyRetrievalExpression"):
                prop = expr.getparent().get("id")
                self.correlations.setdefault(expr.get("messageRef"), set()).add(prop)

    def code(self, definition, attr: str, code_attr: str) -> str | None:
        ref = self.by_id.get(definition.get(attr) or "")
        return ref.get(code_attr) if ref is not None else None


def check(roots: dict, problems: list, problem: Callable, main: str | None = None,
          cooperating: tuple[str, ...] = ()) -> None:
    """Append a problem for every element of ``roots`` (file name -> parsed XML root) that the
    platform cannot run. ``problem(file, element, message)`` builds one. ``main`` is the
    process (or collaboration) a dossier runs; ``cooperating`` the processes that message
    start events start in dossiers of their own."""
    docs = _Documents(roots)
    pools = {participant.get("processRef") for root in roots.values()
             for collaboration in root.iter(f"{BPMN}collaboration")
             if collaboration.get("id") == main
             for participant in collaboration.iter(f"{BPMN}participant")}
    _check_cooperating(docs, cooperating, problems, problem)
    pools |= set(cooperating)
    if main in docs.processes and _check_main_starts(docs, main, problems, problem):
        pools.add(main)  # started by another system's message (POST /api/v1/messages)
    tops = {main, *cooperating} - set(docs.callers)  # the processes dossiers run
    tops = {main, *cooperating} - set(docs.callers)  # the processes dossiers run
    for name, root in roots.items():
        for el in root.iter():
            tag = _local(el)
            if not tag:
                continue
            where = el.get("id") or tag

            def bad(message, name=name, where=where):
                problems.append(problem(name, where, message))

            _check_element(docs, el, tag, bad, pools, tops)
        _check_lanes(root, lambda where, message, name=name: problems.append(
            problem(name, where, message)))


def _check_element(docs, el, tag: str, bad, pools: set, tops: set) -> None:
    """The rules on one element: refused elements, events, event sub-processes, gateways,
    message tasks, activities, compensation."""
    if tag in REFUSED_ELEMENTS:
        bad(REFUSED_ELEMENTS[tag])
    elif tag == "startEvent" and eventsubs.is_event_sub(el.getparent()):
        return  # checked with its event sub-process
    elif tag in ALLOWED:
        _check_event(docs, el, tag, bad, pools)
    elif eventsubs.is_event_sub(el):
        eventsubs.check(el, tops, bad, lambda d, bad=bad: _check_signal_ref(docs, d, bad))
    elif tag == "eventBasedGateway":
        _check_event_gateway(docs, el, bad)
    elif tag in ("sendTask", "receiveTask"):
        _check_message_ref(docs, el, el if el.get("messageRef") else
                           next(iter(el.iter(f"{BPMN}messageEventDefinition")), el), bad)
    else:
        _check_activity(docs, el, tag, bad)
    if el.get("isForCompensation") == "true":
        bad("compensation activities are not supported: " + ADVICE["compensation"])


def _check_activity(docs, el, tag: str, bad) -> None:
    """Business rule tasks name a decision, call activities call a process of the bundle
    that does not lead back, multi-instance activities say what they run over."""
    if tag == "businessRuleTask" and not any(
            (c.tag if isinstance(c.tag, str) else "").endswith("}calledDecisionId")
            and (c.text or "").strip() for c in el.iter()):
        bad("a business rule task names the decision it runs: add "
            "spiffworkflow:calledDecisionId with the id of a decision in a .dmn file "
            "of the bundle")
    elif tag == "callActivity" and el.get("calledElement") not in docs.processes:
        known = ", ".join(sorted(docs.processes)) or "none"
        bad(f"calls process {el.get('calledElement')!r}, which is not in the bundle "
            f"(processes: {known})")
    elif tag == "callActivity" and _calls_back(docs, el):
        bad(f"calls process {el.get('calledElement')!r}, which leads back to the process "
            "this call is in: each call would start another without end. Draw a loop "
            "(a gateway back, or a standard loop) instead")
    elif tag == "multiInstanceLoopCharacteristics":
        if not (el.find(f"{BPMN}loopCardinality") is not None
                or el.find(f"{BPMN}loopDataInputRef") is not None):
            bad("a multi-instance activity needs a loopCardinality or a loopDataInputRef "
                "(the collection to run over)", where=el.getparent().get("id") or tag)


def _process_of(el):
    while el is not None and _local(el) != "process":
        el = el.getparent()
    return el.get("id") if el is not None else None


def _calls_back(docs, call) -> bool:
    """Whether the process ``call`` starts calls (directly or through others) the process
    that ``call`` is in."""
    home, seen = _process_of(call), set()
    todo = [call.get("calledElement")]
    while todo:
        pid = todo.pop()
        if pid == home:
            return True
        if pid in seen or pid not in docs.processes:
            continue
        seen.add(pid)
        todo.extend(c.get("calledElement") for c in docs.processes[pid].iter(f"{BPMN}callActivity"))
    return False


def _check_cooperating(docs, cooperating, problems: list, problem: Callable) -> None:
    """A cooperating process exists in the bundle and starts only from messages: at least
    one message start event, no other start event at its top level."""
    file_of = {el.get("id"): name for name, root in docs.roots.items()
               for el in root.iter(f"{BPMN}process")}
    for i, pid in enumerate(cooperating):
        where = f"cooperating[{i}].process_id"
        process = docs.processes.get(pid)
        if process is None:
            known = ", ".join(sorted(docs.processes)) or "none"
            problems.append(problem("procedure.yaml", where,
                                    f"no process {pid!r} in the bundle (processes: {known})"))
            continue
        starts = [el for el in process if _local(el) == "startEvent"]
        kinds = [_kinds(el) for el in starts]
        if not any(k and set(k) == {"message"} for k in kinds):
            problems.append(problem("procedure.yaml", where,
                                    f"process {pid!r} needs a message start event: another "
                                    "dossier's message starts it"))
        for el, k in zip(starts, kinds, strict=True):
            if not k or set(k) != {"message"}:
                problems.append(problem(
                    file_of[pid], el.get("id") or where,
                    f"process {pid!r} is started by a message: its start event "
                    f"{el.get('id')!r} must be a message start event too"))


def _check_main_starts(docs, main: str, problems: list, problem: Callable) -> bool:
    """Whether the process a dossier runs starts on a message (another system posts it
    through the API): then every start event at its top level is a message start event,
    since a submission could not say which of two kinds of start to take."""
    file_of = {el.get("id"): name for name, root in docs.roots.items()
               for el in root.iter(f"{BPMN}process")}
    starts = [el for el in docs.processes[main] if _local(el) == "startEvent"]
    kinds = [_kinds(el) for el in starts]
    if not any(k and set(k) == {"message"} for k in kinds):
        return False
    for el, k in zip(starts, kinds, strict=True):
        if not k or set(k) != {"message"}:
            problems.append(problem(
                file_of[main], el.get("id") or main,
                f"process {main!r} starts on a message from another system: its start event "
                f"{el.get('id')!r} must be a message start event too (a procedure is either "
                "submitted or started by a message)"))
    return True


def _check_lanes(root, bad) -> None:
    """A sub-process drawn in a lane gives that lane to every step inside it (SpiffWorkflow
    ignores the inner steps' own lanes), so a step drawn in another lane would silently go
    to the wrong role. Refuse that."""
    lane_of = {}
    for lane in root.iter(f"{BPMN}lane"):  # parents before children: the innermost lane wins
        for ref in lane.findall(f"{BPMN}flowNodeRef"):
            lane_of[(ref.text or "").strip()] = lane.get("name") or lane.get("id")
    for sub in root.iter(f"{BPMN}subProcess", f"{BPMN}transaction"):
        outer = lane_of.get(sub.get("id"))
        if outer is None:
            continue
        for inner in sub.iter(f"{BPMN}userTask", f"{BPMN}manualTask", f"{BPMN}task"):
            own = lane_of.get(inner.get("id"))
            if own is not None and own != outer:
                bad(inner.get("id"), f"drawn in lane '{own}', but the sub-process "
                    f"'{sub.get('id')}' around it is in lane '{outer}', which applies to every "
                    "step inside it: take the sub-process out of the lanes so each step keeps "
                    "its own")


def _check_event(docs, el, tag: str, bad, pools: set) -> None:
    kinds = _kinds(el)
    if len(kinds) > 1:
        _check_several_definitions(docs, el, tag, kinds, bad, pools)
        return
    kind = kinds[0] if kinds else "none"
    pool_start = (tag == "startEvent" and kind == "message" and _local(el.getparent()) == "process"
                  and el.getparent().get("id") in pools)
    if pool_start:
        _check_message_ref(docs, el, el.find(f"{BPMN}messageEventDefinition"), bad)
        return
    if tag == "boundaryEvent" and kind == "none":
        bad("a boundary event needs an event definition (timer, message, error or escalation)")
    elif kind not in ALLOWED[tag]:
        _refuse_kind(tag, kind, bad, pools)
        return
    _check_event_kind(docs, el, tag, kind, bad)


def _check_several_definitions(docs, el, tag: str, kinds: list[str], bad, pools: set) -> None:
    """An event with several event definitions: a start event on any of several messages,
    elsewhere only the kinds :data:`MULTIPLE` allows, each reference resolved."""
    if tag == "startEvent":
        _check_multiple_start(docs, el, kinds, bad, pools)
        return
    if not set(kinds) <= MULTIPLE & ALLOWED[tag]:
        bad("an event with several event definitions may combine only " + ", ".join(
            sorted(MULTIPLE & ALLOWED[tag])) + " here: use an event-based gateway to wait "
            "for one of several other events")
        return
    for definition in el:
        if _local(definition) == "messageEventDefinition":
            _check_message_ref(docs, el, definition, bad)
        elif _local(definition) == "signalEventDefinition":
            _check_signal_ref(docs, definition, bad)


def _refuse_kind(tag: str, kind: str, bad, pools: set) -> None:
    """An event of a kind the platform does not run here, with the advice that fits."""
    if tag == "startEvent" and kind == "message" and pools:
        bad(POOL_START)
    elif tag == "startEvent" and kind in START_ADVICE:
        bad(START_ADVICE[kind])
    else:
        what = ADVICE.get(kind) or (f"{kind} {tag}s are not supported; supported here: "
                                    + ", ".join(sorted(ALLOWED[tag])))
        bad(what)


def _check_event_kind(docs, el, tag: str, kind: str, bad) -> None:
    """The rules of a supported kind: cancel events in transactions, messages and signals
    defined, error boundary events interrupting, error end events caught."""
    if kind == "cancel":
        _check_cancel(docs, el, tag, bad)
    elif kind == "message":
        _check_message_ref(docs, el, el.find(f"{BPMN}messageEventDefinition"), bad)
    elif kind == "signal":
        _check_signal_ref(docs, el.find(f"{BPMN}signalEventDefinition"), bad)
    elif kind == "error" and tag == "boundaryEvent" and el.get("cancelActivity") == "false":
        bad("an error boundary event always interrupts its activity: remove "
            "cancelActivity=\"false\"")
    elif kind == "error" and tag == "endEvent":
        definition = el.find(f"{BPMN}errorEventDefinition")
        code = docs.code(definition, "errorRef", "errorCode")
        uncaught = _uncaught(docs, el, code, set())
        if uncaught:
            bad(f"error {code or '(without a code)'} is not caught: {uncaught}. Attach an "
                "error boundary event with this code to the sub-process or call activity "
                "around it")


def _check_multiple_start(docs, el, kinds: list[str], bad, pools: set) -> None:
    """A start event with several message definitions starts its process on any one of
    them (each message starts a dossier of its own); it must start a process that messages
    start. Waiting for all of them (parallelMultiple) or mixing kinds is refused."""
    parent = el.getparent()
    if set(kinds) != {"message"}:
        bad("a start event with several event definitions may combine only messages (any of "
            "them starts the dossier): draw one start event for each other kind")
    elif el.get("parallelMultiple") == "true":
        bad("a start event that waits for all of several messages (parallelMultiple) is not "
            "supported: a dossier starts on one message; catch the others with message catch "
            "events after the start")
    elif not (_local(parent) == "process" and parent.get("id") in pools):
        bad(POOL_START)
    else:
        for definition in el:
            if _local(definition) == "messageEventDefinition":
                _check_message_ref(docs, el, definition, bad)


def _check_message_ref(docs, el, definition, bad) -> None:
    ref = definition.get("messageRef") if definition is not None else None
    message = docs.by_id.get(ref or "")
    if message is None or _local(message) != "message":
        bad("a message event, send task or receive task must name a bpmn:message (messageRef)")
    elif not (message.get("name") or "").strip():
        bad(f"message {ref!r} needs a name: messages are matched by name")
    elif len(docs.correlations.get(ref, [])) > 1:
        bad(f"message {message.get('name')!r} has several correlation properties; use one "
            "(e.g. the dossier code the message is for)")


def _check_cancel(docs, el, tag: str, bad) -> None:
    """A cancel end event sits directly in a transaction that has a cancel boundary event (else
    the cancellation would go nowhere); a cancel boundary event is attached to a transaction."""
    if tag == "boundaryEvent":
        target = docs.by_id.get(el.get("attachedToRef") or "")
        if target is None or _local(target) != "transaction":
            bad(ADVICE["cancel"] + ": attach it to a transaction")
        return
    transaction = el.getparent()
    if _local(transaction) != "transaction":
        bad(ADVICE["cancel"] + ": draw it inside the transaction it cancels")
    elif not any(_local(b) == "boundaryEvent" and b.get("attachedToRef") == transaction.get("id")
                 and _kinds(b) == ["cancel"] for b in transaction.getparent()):
        bad(f"transaction {transaction.get('id')!r} has no cancel boundary event: attach one "
            "to say where a cancelled transaction goes on")


def _check_signal_ref(docs, definition, bad) -> None:
    """A signal names a bpmn:signal with a name: signals are matched by name, and reach only
    the tasks of the dossier that throws them."""
    signal = docs.by_id.get(definition.get("signalRef") or "")
    if signal is None or _local(signal) != "signal" or not (signal.get("name") or "").strip():
        bad("a signal event must name a bpmn:signal that has a name (signalRef)")


def _check_event_gateway(docs, el, bad) -> None:
    flows = [f for f in el.getparent() if _local(f) == "sequenceFlow"
             and f.get("sourceRef") == el.get("id")]
    timers = 0
    for flow in flows:
        target = docs.by_id.get(flow.get("targetRef"))
        kinds = _kinds(target) if target is not None else []
        if target is None or _local(target) != "intermediateCatchEvent" \
                or kinds not in (["message"], ["timer"]):
            bad(f"after an event-based gateway every flow must lead to a message or timer "
                f"catch event ({flow.get('targetRef')!r} is not one)")
        elif kinds == ["timer"]:
            timers += 1
    if timers > 1:
        bad("an event-based gateway may wait for one timer at most: keep the earliest")


def _caught_on(docs, activity, code: str | None) -> bool:
    """Whether an error boundary event on ``activity`` catches an error with ``code``."""
    for sibling in activity.getparent():
        if _local(sibling) != "boundaryEvent" or sibling.get("attachedToRef") != activity.get("id"):
            continue
        definition = sibling.find(f"{BPMN}errorEventDefinition")
        if definition is None:
            continue
        caught = docs.code(definition, "errorRef", "errorCode")
        if caught is None or caught == code:
            return True
    return False


def _uncaught(docs, el, code: str | None, seen: set) -> str:
    """Follow an error up through enclosing sub-processes and the call activities that call
    the process; '' when every path catches it, else where it escapes."""
    scope = el.getparent()
    while _local(scope) in ("subProcess", "transaction"):
        if _caught_on(docs, scope, code):
            return ""
        scope = scope.getparent()
    if _local(scope) != "process":
        return "it leaves the diagram"
    callers = docs.callers.get(scope.get("id"), [])
    if not callers or scope.get("id") in seen:
        return f"it leaves process {scope.get('id')!r}"
    for call in callers:
        if not _caught_on(docs, call, code):
            escaped = _uncaught(docs, call, code, seen | {scope.get("id")})
            if escaped:
                return escaped
    return ""
