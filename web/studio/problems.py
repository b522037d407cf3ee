"""Put validation problems on the diagram elements they are about.

Deploy-time validation names the file, the element and the problem
(``{file, element, message}``). ``element`` is a BPMN id, ``line N`` for XML and XSD
errors, a form's JSON path or a procedure.yaml key. The editor draws a problem on its
element, so each gets ``element_id`` (the element to mark, or None) and ``related``
(more elements to mark: the lane whose name is not a role, the flow whose condition fails).
"""

from __future__ import annotations

import re

from lxml import etree

BPMN_MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_LINE = re.compile(r"^line (\d+)$")
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def locate(problems: list[dict], diagram_name: str, xml: str) -> list[dict]:
    """``problems`` with ``element_id`` and ``related`` added (see the module docstring)."""
    try:
        root = etree.fromstring(xml.encode("utf-8"), PARSER)
    except (etree.XMLSyntaxError, ValueError):
        root = None
    elements = {} if root is None else {
        el.get("id"): el for el in root.iter() if _is_model(el) and el.get("id")}
    located = []
    for problem in problems:
        element_id = None
        related: list[str] = []
        if root is not None and problem.get("file") == diagram_name:
            element_id = _element_of(problem.get("element") or "", root, elements)
            if element_id:
                related = _related(elements, element_id, problem.get("message") or "")
        located.append({**problem, "element_id": element_id, "related": related})
    return located


def _is_model(el) -> bool:
    return isinstance(el.tag, str) and el.tag.startswith("{" + BPMN_MODEL + "}")


def _element_of(name: str, root, elements: dict) -> str | None:
    if name in elements:
        tag = etree.QName(elements[name]).localname
        if tag == "process":  # drawn as its pool, when there is one
            for participant in root.iter(f"{{{BPMN_MODEL}}}participant"):
                if participant.get("processRef") == name:
                    return participant.get("id")
        return name
    match = _LINE.match(name)
    if match:
        return _element_at_line(root, int(match.group(1)))
    return None


def _element_at_line(root, line: int) -> str | None:
    """The innermost BPMN element with an id that starts on or before ``line``."""
    last = None
    for el in root.iter():
        if not isinstance(el.tag, str) or el.sourceline is None:
            continue
        if el.sourceline > line:
            break
        last = el
    while last is not None and not (_is_model(last) and last.get("id")):
        last = last.getparent()
    return last.get("id") if last is not None else None


def _related(elements: dict, element_id: str, message: str) -> list[str]:
    """The lanes holding the element (their name is its role), and for a gateway the
    outgoing flows whose condition the message quotes."""
    related = []
    if "lane" in message:
        for lane_id, lane in elements.items():
            if etree.QName(lane).localname != "lane":
                continue
            refs = {(ref.text or "").strip() for ref in lane.iter(f"{{{BPMN_MODEL}}}flowNodeRef")}
            if element_id in refs:
                related.append(lane_id)
    for flow_id, flow in elements.items():
        if etree.QName(flow).localname != "sequenceFlow" or flow.get("sourceRef") != element_id:
            continue
        condition = flow.find(f"{{{BPMN_MODEL}}}conditionExpression")
        text = (condition.text or "").strip() if condition is not None else ""
        if text and (repr(text) in message or text in message):
            related.append(flow_id)
    return related
