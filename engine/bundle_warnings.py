"""Suspicious choices in a diagram (cảnh báo): allowed, deployable, but probably a mistake.

Validation refuses what cannot run; these run but likely do not do what the analyst meant:

- a reception or approval step in the applicant's lane (the applicant would receive or
  approve their own dossier);
- a user task with no form (the person can only press "done": no decision, no data);
- a gateway without a default flow (every outgoing flow has a condition, so a dossier
  whose data matches none stops there).

Each warning is a :class:`engine.bundles.Problem`-like ``(file, element, message)`` in
English; :mod:`engine.problem_texts` holds the Vietnamese.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from lxml import etree

from .vocabulary import RoleCode

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
APPLICANT_LANE = RoleCode.APPLICANT
# Words in a step's name (or its form's file name) that make it an officer's step.
OFFICER_WORDS = ("tiếp nhận", "phê duyệt", "duyệt", "thẩm định", "kiểm tra hồ sơ", "ký số",
                 "receive", "reception", "approve", "approval", "appraise", "appraisal")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text or "").casefold()


def _form_of(task: etree._Element) -> str | None:
    for prop in task.iter(f"{SPIFF}property"):
        if prop.get("name") == "formJsonSchemaFilename" and (prop.get("value") or "").strip():
            return prop.get("value")
    return None


def find(roots: dict, problem: Callable) -> list:
    """The warnings of every diagram in ``roots`` (file name -> parsed XML root);
    ``problem(file, element, message)`` builds one."""
    found = []
    for name, root in roots.items():
        lane_of = {}
        for lane in root.iter(f"{BPMN}lane"):
            for ref in lane.findall(f"{BPMN}flowNodeRef"):
                lane_of[(ref.text or "").strip()] = lane.get("name") or ""
        for task in root.iter(f"{BPMN}userTask", f"{BPMN}manualTask"):
            tid = task.get("id")
            form = _form_of(task)
            label = _fold(f"{task.get('name') or ''} {form or ''}")
            if lane_of.get(tid) == APPLICANT_LANE and any(w in label for w in OFFICER_WORDS):
                found.append(problem(name, tid, (
                    f"a reception or approval step in the applicant's lane: "
                    f"'{task.get('name') or tid}' is done by the applicant; move it to the "
                    "lane of the officers who do it")))
            if task.tag == f"{BPMN}userTask" and form is None:
                found.append(problem(name, tid, (
                    "a user task with no form: the person only clicks “done”; choose a form "
                    "if they decide or enter something")))
        for gateway in root.iter(f"{BPMN}exclusiveGateway", f"{BPMN}inclusiveGateway"):
            gid = gateway.get("id")
            flows = [f for f in gateway.getparent().iter(f"{BPMN}sequenceFlow")
                     if f.get("sourceRef") == gid]
            if len(flows) > 1 and not gateway.get("default") and all(
                    f.find(f"{BPMN}conditionExpression") is not None for f in flows):
                found.append(problem(name, gid, (
                    "a gateway without a default flow: a dossier whose data matches no "
                    "condition stops here; mark one outgoing flow as the default")))
    return found
