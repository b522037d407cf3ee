"""A procedure's deployed versions: the list, one version's files, and what changed between two.

Versions are immutable rows (see :mod:`engine.procedures`). :func:`diff_versions` compares
two of them element by element from their BPMN XML, so an analyst reads "Task_Appraise:
property dueIn working_days(3) → working_days(2)" instead of an XML diff; diagram
interchange (``bpmndi``: shapes, edges, coordinates) is ignored, so moving a box is no change.
"""

from __future__ import annotations

import re

from lxml import etree
from sqlalchemy import func, select

from .errors import InvalidData, NotFound
from .lookup import by_code
from .models import Dossier, Procedure, ProcedureVersion
from .step.load import VERSIONS

MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Elements whose id-bearing children are reported as elements of their own.
CONTAINERS = {"definitions", "process", "subProcess", "transaction", "adHocSubProcess",
              "laneSet", "childLaneSet", "lane", "collaboration"}
SCOPES = {"process", "subProcess", "transaction", "adHocSubProcess"}
ATTRIBUTE_NAMES = {"sourceRef": "source", "targetRef": "target", "default": "default flow",
                   "attachedToRef": "attached to", "processRef": "process",
                   "cancelActivity": "interrupting"}
TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")


def version_meta(session, version_id: int, content_hash: str) -> dict:
    """The ``meta`` of a version (read-only, shared) from the engine's per-process cache of
    immutable versions (:data:`engine.step.load.VERSIONS`), read once through ``session``."""
    return VERSIONS.get(session, version_id, content_hash).meta


def procedure_row(session, code: str) -> Procedure:
    """The procedure row with this code, or :class:`NotFound`."""
    return by_code(session, Procedure, code)


def find_version(session, procedure: Procedure, number: int | None) -> ProcedureVersion:
    """The procedure's version ``number`` (None: the active one), or :class:`NotFound`."""
    if number is None:
        if procedure.active_version is None:
            raise NotFound(f"Procedure {procedure.code!r} has no active version.",
                           vi=f"Thủ tục {procedure.code!r} chưa có phiên bản đang dùng.")
        return procedure.active_version
    if isinstance(number, bool) or not isinstance(number, int):
        raise InvalidData(f"A version number is a whole number, not {number!r}.",
                          vi=f"Số phiên bản phải là số nguyên, không phải {number!r}.",
                          details=[{"field": "version", "message": "not a whole number"}])
    version = session.execute(select(ProcedureVersion).where(
        ProcedureVersion.procedure_id == procedure.id,
        ProcedureVersion.number == number)).scalar()
    if version is None:
        raise NotFound(f"Procedure {procedure.code!r} has no version {number}.",
                       vi=f"Thủ tục {procedure.code!r} không có phiên bản {number}.")
    return version


def list_versions(p, code: str) -> list[dict]:
    """Every deployed version of the procedure, newest first, with how many dossiers run on
    each (``dossiers``) and how many of those are unfinished (``open_dossiers``)."""
    with p.db.read() as session:
        procedure = procedure_row(session, code)
        counts = dict((vid, (n, o)) for vid, n, o in session.execute(
            select(Dossier.version_id, func.count(),
                   func.count().filter(Dossier.finished_at.is_(None)))
            .where(Dossier.procedure_id == procedure.id).group_by(Dossier.version_id)).all())
        rows = session.execute(select(ProcedureVersion)
                               .where(ProcedureVersion.procedure_id == procedure.id)
                               .order_by(ProcedureVersion.number.desc())).scalars().all()
        return [{"number": v.number, "content_hash": v.content_hash,
                 "deployed_by": v.deployed_by, "deployed_at": v.deployed_at.isoformat(),
                 "active": v.id == procedure.active_version_id,
                 "dossiers": counts.get(v.id, (0, 0))[0],
                 "open_dossiers": counts.get(v.id, (0, 0))[1]} for v in rows]


def get_version(p, code: str, number: int | None = None) -> dict:
    """One version's bundle as deployed (``number`` None: the active version)."""
    with p.db.read() as session:
        procedure = procedure_row(session, code)
        v = find_version(session, procedure, number)
        return {"code": procedure.code, "number": v.number, "files": dict(v.files),
                "meta": v.meta, "process_id": v.process_id, "deployed_by": v.deployed_by,
                "deployed_at": v.deployed_at.isoformat(),
                "active": v.id == procedure.active_version_id, "content_hash": v.content_hash}


def diff_versions(p, code: str, a: int, b: int) -> dict:
    """What changed from version ``a`` to version ``b``: BPMN elements added, removed and
    changed (each change ``{what, before, after}``), and bundle files added, removed, changed."""
    with p.db.read() as session:
        procedure = procedure_row(session, code)
        old, new = find_version(session, procedure, a), find_version(session, procedure, b)
        old_files, new_files = dict(old.files), dict(new.files)
    return {"elements": diff_elements(old_files, new_files),
            "files": {"added": sorted(set(new_files) - set(old_files)),
                      "removed": sorted(set(old_files) - set(new_files)),
                      "changed": sorted(f for f in set(old_files) & set(new_files)
                                        if old_files[f] != new_files[f])}}


def diff_elements(old_files: dict[str, str], new_files: dict[str, str]) -> dict:
    """The element-level diff of the ``.bpmn`` files of two bundles."""
    before, after = bpmn_elements(old_files), bpmn_elements(new_files)
    added = [_brief(eid, after[eid]) for eid in after if eid not in before]
    removed = [_brief(eid, before[eid]) for eid in before if eid not in after]
    changed = []
    for eid, new in after.items():
        old = before.get(eid)
        if old is None:
            continue
        changes = [{"what": what, "before": _show(old["facets"].get(what)),
                    "after": _show(new["facets"].get(what))}
                   for what in _ordered(old["facets"], new["facets"])
                   if old["facets"].get(what) != new["facets"].get(what)]
        if old["type"] != new["type"]:
            changes.insert(0, {"what": "type", "before": old["type"], "after": new["type"]})
        if changes:
            changed.append({**_brief(eid, new), "changes": changes})
    return {"added": added, "removed": removed, "changed": changed}


def bpmn_elements(files: dict[str, str]) -> dict[str, dict]:
    """``{id: {type, name, facets}}`` for every model element of every diagram in a bundle,
    in document order. Facets are the readable aspects that :func:`diff_elements` compares."""
    out: dict[str, dict] = {}
    for name in sorted(f for f in files if f.endswith(".bpmn")):
        try:
            root = etree.fromstring(files[name].encode("utf-8"))
        except etree.XMLSyntaxError:
            continue  # deploy refuses such bundles; an old row is shown without elements
        messages = {m.get("id"): m.get("name") or m.get("id")
                    for m in root.iter(f"{{{MODEL}}}message")}
        lanes = {}
        for lane in root.iter(f"{{{MODEL}}}lane"):
            for ref in lane.findall(f"{{{MODEL}}}flowNodeRef"):
                lanes[(ref.text or "").strip()] = lane.get("name") or lane.get("id")
        for el in _reported(root):
            eid = el.get("id")
            out[eid] = {"type": _local(el), "name": el.get("name") or "",
                        "facets": _facets(el, lanes, messages)}
    return out


def _reported(parent):
    """The elements reported on their own, in document order."""
    for child in parent:
        if not isinstance(child.tag, str) or etree.QName(child).namespace != MODEL:
            continue
        if child.get("id") and _local(parent) in CONTAINERS:
            yield child
        if _local(child) in CONTAINERS:
            yield from _reported(child)


def _facets(el, lanes: dict, messages: dict) -> dict:
    """What ``el`` says, facet by facet: name, attributes, lane, enclosing scope, children."""
    eid = el.get("id")
    facets: dict[str, object] = {"name": el.get("name") or None}
    for key, value in el.attrib.items():
        local = etree.QName(key).localname
        if local in ("id", "name"):
            continue
        facets[ATTRIBUTE_NAMES.get(local, f"attribute {local}")] = value
    if eid in lanes:
        facets["lane"] = lanes[eid]
    scope = next((a.get("id") for a in el.iterancestors() if _local(a) in SCOPES), None)
    if scope and _local(el) != "process":
        facets["parent"] = scope
    for child in el:
        if isinstance(child.tag, str) and not _reported_alone(el, child):
            _child_facet(child, facets, messages)
    for key in ("incoming", "outgoing", "members"):
        if key in facets:
            facets[key] = sorted(facets[key])
    return facets


def _reported_alone(el, child) -> bool:
    """Whether ``child`` of ``el`` is reported on its own rather than as a facet of ``el``."""
    return _local(child) in CONTAINERS or bool(
        child.get("id") and _local(el) in CONTAINERS
        and etree.QName(child).namespace == MODEL)


def _child_facet(child, facets: dict, messages: dict) -> None:
    """Add what ``child`` (flows, documentation, condition, script, event definition,
    extensions, loop, anything else in canonical form) says to its element's ``facets``."""
    local = _local(child)
    if local in ("incoming", "outgoing", "flowNodeRef"):
        key = "members" if local == "flowNodeRef" else local
        facets.setdefault(key, []).append(_text(child))
    elif local == "documentation":
        facets["documentation"] = _text(child)
    elif local == "conditionExpression":
        facets["condition"] = _text(child)
    elif local == "script":
        facets["script"] = _text(child)
    elif local.endswith("EventDefinition"):
        _event_facets(child, facets, messages)
    elif local == "extensionElements":
        _extension_facets(child, facets)
    elif local in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics"):
        facets["loop"] = _canonical(child)
    else:
        facets[local] = _join(facets.get(local), _canonical(child))


def _event_facets(definition, facets: dict, messages: dict) -> None:
    kind = _local(definition).removesuffix("EventDefinition")
    facets["event"] = _join(facets.get("event"), kind)
    for time in definition:
        if isinstance(time.tag, str) and _local(time) in TIMER_KINDS:
            facets["timer"] = f"{_local(time)}: {_text(time)}"
    ref = definition.get("messageRef")
    if ref:
        facets["message"] = messages.get(ref, ref)
    for attr in ("signalRef", "errorRef", "escalationRef"):
        if definition.get(attr):
            facets[attr.removesuffix("Ref")] = definition.get(attr)
    for child in definition:
        if isinstance(child.tag, str) and _local(child) not in TIMER_KINDS:
            facets[f"{kind} {_local(child)}"] = _canonical(child)


def _extension_facets(extensions, facets: dict) -> None:
    for ext in extensions:
        if not isinstance(ext.tag, str):
            continue
        local = _local(ext)
        if local == "properties":
            for prop in ext:
                if isinstance(prop.tag, str):
                    facets[f"property {prop.get('name')}"] = prop.get("value")
        elif local == "serviceTaskOperator":
            facets["operator"] = ext.get("id")
            for param in ext.iter("{*}parameter"):
                facets[f"parameter {param.get('id')}"] = param.get("value")
                facets[f"parameter {param.get('id')} type"] = param.get("type")
        elif local in ("preScript", "postScript"):
            facets[local.lower()] = _text(ext)
        elif local == "instructionsForEndUser":
            facets["instructions"] = _text(ext)
        else:
            facets[f"extension {local}"] = _join(facets.get(f"extension {local}"), _canonical(ext))


def _local(el) -> str:
    return etree.QName(el).localname


def _text(el) -> str:
    return (el.text or "").strip()


def _canonical(el) -> str:
    text = etree.tostring(el, encoding="unicode", with_tail=False)
    text = re.sub(r'\s+xmlns:\w+="[^"]*"', "", text)
    return re.sub(r">\s+<", "><", text).strip()


def _join(before, value):
    return value if before is None else f"{before}; {value}"


def _show(value):
    if isinstance(value, list):
        return ", ".join(value)
    return value


def _ordered(a: dict, b: dict) -> list[str]:
    keys = list(a)
    keys += [k for k in b if k not in a]
    return keys


def _brief(eid: str, element: dict) -> dict:
    return {"id": eid, "type": element["type"], "name": element["name"]}
