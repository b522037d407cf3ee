"""Diagrams drawn in Camunda Modeler (Camunda 7 extensions), converted on deploy.

What an analyst who learned on Camunda brings is rewritten into the platform's own terms
before the diagram is checked, and every change is reported (as a deploy warning):

- ``camunda:candidateGroups`` on a user task → the task's role, when the group is a role code
  and the task is in no lane (a group that is no role is a problem naming the known roles);
- ``camunda:formData`` fields → a JSON Schema form ``forms/<task id>.json`` added to the
  bundle (string, long, boolean, date and enum fields, labels, ``required``);
- ``camunda:inputOutput`` → ``spiffworkflow:preScript`` / ``postScript`` assignments
  (``${expr}`` becomes the Python expression ``expr``);
- ``camunda:decisionRef`` → ``spiffworkflow:calledDecisionId``; ``camunda:collection`` and
  ``camunda:elementVariable`` → a multi-instance task's input collection and item;
- ``${…}`` conditions → Python expressions;
- Python scripts are kept; JavaScript and Groovy scripts are refused by name, with advice.
"""

from __future__ import annotations

import json
import re

from lxml import etree

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
C = f"{{{CAMUNDA}}}"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
FIELD_TYPES = {"string": {"type": "string"}, "long": {"type": "integer"},
               "boolean": {"type": "boolean"}, "date": {"type": "string", "format": "date"}}
FOREIGN_SCRIPTS = {"javascript": "JavaScript", "js": "JavaScript", "groovy": "Groovy",
                   "ecmascript": "JavaScript", "nashorn": "JavaScript"}


def _el(tag: str, text: str | None = None, **attrs) -> etree._Element:
    el = etree.Element(tag, **attrs)
    el.text = text
    return el


def _expression(text: str | None) -> str:
    """``${expr}`` / ``#{expr}`` (JUEL) → ``expr``; anything else unchanged."""
    text = (text or "").strip()
    match = re.fullmatch(r"[$#]\{(.*)\}", text, re.S)
    return match.group(1).strip() if match else text


def _extensions(el) -> etree._Element:
    ext = el.find(f"{BPMN}extensionElements")
    if ext is None:
        ext = _el(f"{BPMN}extensionElements")
        el.insert(0, ext)
    return ext


def _schema(form) -> dict:
    properties, required = {}, []
    for field in form.iter(f"{C}formField"):
        name = field.get("id")
        if not name:
            continue
        kind = field.get("type") or "string"
        prop = dict(FIELD_TYPES.get(kind, {"type": "string"}))
        if kind == "enum":
            values = [v.get("id") for v in field.iter(f"{C}value") if v.get("id")]
            prop = {"type": "string", "enum": values}
        if field.get("label"):
            prop["title"] = field.get("label")
        if field.get("defaultValue") is not None:
            prop["default"] = field.get("defaultValue")
        properties[name] = prop
        if any(c.get("name") == "required" for c in field.iter(f"{C}constraint")):
            required.append(name)
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def convert(roots: dict, files: dict[str, str], problems: list, problem, notes: list,
            candidate_groups: dict[str, str]) -> None:
    """Rewrite the Camunda extensions of ``roots`` (file name → XML root) in place; add
    generated forms to ``files``; ``notes`` gets a ``problem(file, element, message)`` per
    conversion, ``problems`` one per refusal; ``candidate_groups`` maps task id → group."""
    for name, root in roots.items():
        if CAMUNDA not in root.nsmap.values() and not any(
                isinstance(a, str) and a.startswith(C) for el in root.iter()
                for a in el.attrib):
            continue

        def note(where, message, name=name):
            notes.append(problem(name, where, "converted from Camunda: " + message))

        for el in list(root.iter()):
            if not isinstance(el.tag, str):
                continue
            where = el.get("id") or ""
            _script_format(el, name, where, problems, problem)
            groups = el.get(f"{C}candidateGroups")
            if groups and el.tag == f"{BPMN}userTask":
                group = groups.split(",")[0].strip()
                candidate_groups[where] = group
                note(where, f"candidate group {group!r} → role {group!r}")
            form = el.find(f"{BPMN}extensionElements/{C}formData")
            if form is not None and el.tag == f"{BPMN}userTask":
                path = f"forms/{where}.json"
                files[path] = json.dumps(_schema(form), ensure_ascii=False, indent=1)
                props = _el(f"{SPIFF}properties")
                props.append(_el(f"{SPIFF}property", name="formJsonSchemaFilename", value=path))
                _extensions(el).append(props)
                note(where, f"form fields → JSON Schema {path}")
            io = el.find(f"{BPMN}extensionElements/{C}inputOutput")
            if io is not None:
                _mappings(el, io, note, where)
            ref = el.get(f"{C}decisionRef")
            if ref and el.tag == f"{BPMN}businessRuleTask":
                _extensions(el).append(_el(f"{SPIFF}calledDecisionId", ref))
                note(where, f"decisionRef → decision {ref!r}")
            if el.tag == f"{BPMN}multiInstanceLoopCharacteristics" and el.get(f"{C}collection"):
                _multi_instance(el, note)
            if el.tag in (f"{BPMN}conditionExpression", f"{BPMN}condition") and \
                    (el.text or "").strip()[:2] in ("${", "#{"):
                el.text = _expression(el.text)
                note(el.getparent().get("id") or where, f"condition → {el.text!r}")


def _script_format(el, name, where, problems, problem) -> None:
    fmt = (el.get("scriptFormat") or "").strip().lower()
    if el.tag == f"{BPMN}scriptTask" and fmt in FOREIGN_SCRIPTS:
        language = FOREIGN_SCRIPTS[fmt]
        problems.append(problem(name, where, f"a {language} script cannot run here: rewrite it "
                                             "in Python (the same rules as every diagram "
                                             "script) and set scriptFormat=\"python\""))


def _mappings(el, io, note, where) -> None:
    pre = [f"{p.get('name')} = {_expression(p.text) or 'None'}"
           for p in io.iter(f"{C}inputParameter") if p.get("name")]
    post = [f"{p.get('name')} = {_expression(p.text) or 'None'}"
            for p in io.iter(f"{C}outputParameter") if p.get("name")]
    ext = _extensions(el)
    if pre:
        ext.append(_el(f"{SPIFF}preScript", "\n".join(pre)))
        note(where, "input mappings → pre-script: " + "; ".join(pre))
    if post:
        ext.append(_el(f"{SPIFF}postScript", "\n".join(post)))
        note(where, "output mappings → post-script: " + "; ".join(post))
    ext.remove(io)


def _multi_instance(el, note) -> None:
    collection = _expression(el.get(f"{C}collection"))
    item = el.get(f"{C}elementVariable") or "item"
    where = el.getparent().get("id") or ""
    if el.find(f"{BPMN}loopDataInputRef") is None and el.find(f"{BPMN}loopCardinality") is None:
        el.insert(0, _el(f"{BPMN}loopDataInputRef", collection))
        el.insert(1, _el(f"{BPMN}inputDataItem", id=item, name=item))
        note(where, f"collection {collection!r} and element variable {item!r} → "
                    "multi-instance input")
