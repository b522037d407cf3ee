"""Agencies: the hierarchy, its codes (QCVN 102:2016) and closing referenced ones."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit
from ..lookup import by_code
from ..models import (
    Agency,
    Dossier,
    DossierSequence,
    HumanTask,
    Procedure,
    ProcedureAgency,
    User,
    UserRole,
)
from .checks import clean_email, clean_text, flag, invalid, problem

AGENCY_CODE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
#: Kinds offered for an agency; others (``[a-z_]``) are accepted, for other provinces' shapes.
AGENCY_KINDS = ("province", "department", "district", "district_finance", "commune", "other")
KIND = re.compile(r"^[a-z][a-z0-9_]{1,19}$")
AGENCY_COLUMNS = ("code", "name_vi", "name_en", "kind", "parent_code", "email", "address")



def agency_dict(agency: Agency, codes: Mapping[int, str]) -> dict:
    return {"code": agency.code, "name_vi": agency.name_vi, "name_en": agency.name_en,
            "kind": agency.kind, "parent_code": codes.get(agency.parent_id, "") if
            agency.parent_id else "", "email": agency.email, "address": agency.address,
            "active": agency.active}


def all_agencies(session: Session) -> list[Agency]:
    return list(session.execute(select(Agency).order_by(Agency.code)).scalars())


def _tree_order(agencies: list[Agency]) -> list[tuple[Agency, int]]:
    """Agencies depth-first under their parents (by code at each level), with depths."""
    children: dict[int | None, list[Agency]] = {}
    ids = {a.id for a in agencies}
    for a in agencies:
        children.setdefault(a.parent_id if a.parent_id in ids else None, []).append(a)
    out: list[tuple[Agency, int]] = []
    seen: set[int] = set()

    def walk(parent: int | None, depth: int) -> None:
        for a in children.get(parent, []):
            if a.id not in seen:
                seen.add(a.id)
                out.append((a, depth))
                walk(a.id, depth + 1)

    walk(None, 0)
    out += [(a, 0) for a in agencies if a.id not in seen]  # a cycle left by hand-made data
    return out


def list_agencies(p, query: str = "") -> list[dict]:
    """Every agency in the hierarchy's order (``depth`` 0 at the top), each with its
    parent's code and name; ``query`` keeps those whose code or name contains it."""
    needle = unicodedata.normalize("NFC", query or "").strip().casefold()
    with p.db.transaction() as session:
        agencies = all_agencies(session)
        by_id = {a.id: a for a in agencies}
        codes = {a.id: a.code for a in agencies}
        rows = []
        for agency, depth in _tree_order(agencies):
            haystack = " ".join((agency.code, agency.name_vi, agency.name_en)).casefold()
            if needle and needle not in haystack:
                continue
            parent = by_id.get(agency.parent_id)
            rows.append({**agency_dict(agency, codes), "id": agency.id, "depth": depth,
                         "parent_name": parent.name_vi if parent else ""})
        return rows


def agency_kinds(p) -> list[str]:
    """The kinds to offer: the usual ones and any already in use."""
    with p.db.transaction() as session:
        used = set(session.execute(select(Agency.kind).distinct()).scalars())
    return list(AGENCY_KINDS) + sorted(used - set(AGENCY_KINDS))


def get_agency(p, code: str) -> dict:
    with p.db.transaction() as session:
        agency = find_agency(session, code)
        codes = {a.id: a.code for a in all_agencies(session)}
        return {**agency_dict(agency, codes), "references": _agency_references(session, agency)}


def find_agency(session: Session, code: str) -> Agency:
    return by_code(session, Agency, code)


def clean_agency(raw: Mapping, problems: list[dict], *, present: Iterable[str] = AGENCY_COLUMNS
                  ) -> dict:
    """An agency's values from a form or a CSV row, checked on their own (no database)."""
    present = set(present)
    out: dict = {}
    if "code" in present:
        code = clean_text(raw.get("code"), 40, "code", problems, required=True, label_vi="mã cơ quan")
        if code and not AGENCY_CODE.match(code):
            problems.append(problem(
                "code", f"{code!r} is not an agency code as QCVN 102:2016 writes them "
                        "(e.g. 000.00.14.H56).",
                f"{code!r} không đúng mẫu mã định danh theo QCVN 102:2016 (ví dụ 000.00.14.H56)."))
        out["code"] = code
    if "name_vi" in present:
        out["name_vi"] = clean_text(raw.get("name_vi"), 255, "name_vi", problems, required=True,
                                    label_vi="tên tiếng Việt")
    if "name_en" in present:
        out["name_en"] = clean_text(raw.get("name_en"), 255, "name_en", problems,
                                    label_vi="tên tiếng Anh")
    if "kind" in present:
        kind = clean_text(raw.get("kind"), 20, "kind", problems)
        if kind and not KIND.match(kind):
            problems.append(problem("kind", f"kind {kind!r}: use lower-case letters and _ "
                                            f"(e.g. {', '.join(AGENCY_KINDS[:3])}).",
                                    f"Loại {kind!r}: chỉ dùng chữ thường không dấu và _ "
                                    f"(ví dụ {', '.join(AGENCY_KINDS[:3])})."))
        if kind:
            out["kind"] = kind
    if "parent_code" in present:
        out["parent_code"] = clean_text(raw.get("parent_code"), 40, "parent_code", problems)
    if "email" in present:
        out["email"] = clean_email(raw.get("email"), "email", problems)
    if "address" in present:
        out["address"] = clean_text(raw.get("address"), 500, "address", problems,
                                    label_vi="địa chỉ")
    return out


def parent_problems(code: str, parent_code: str, parents: Mapping[str, str],
                     known: set[str]) -> list[dict]:
    """The parent must exist, and following parents up from it must not come back to
    ``code`` (``parents`` maps every code to its parent's code, edits included)."""
    if not parent_code:
        return []
    if parent_code not in known:
        return [problem("parent_code", f"no agency with code {parent_code!r}.",
                        f"Không có cơ quan cấp trên mã {parent_code!r}.")]
    seen, current = set(), parent_code
    while current and current not in seen:
        if current == code:
            return [problem("parent_code", "an agency cannot be under itself or under one "
                                           "of its own sub-agencies.",
                            "Cơ quan không thể trực thuộc chính nó hoặc một đơn vị cấp dưới "
                            "của nó.")]
        seen.add(current)
        current = parents.get(current, "")
    return []


def save_agency(p, values: Mapping, *, actor: str, code: str | None = None) -> dict:
    """Create an agency (``code`` None) or edit the one with ``code`` (whose code stays: it
    is in every dossier code it issued). ``values``: the form's fields, ``active`` a
    checkbox. Returns the saved agency."""
    problems: list[dict] = []
    fields = [c for c in AGENCY_COLUMNS if code is None or c != "code"]
    clean = clean_agency(values, problems, present=fields)
    with p.db.transaction() as session:
        agencies = all_agencies(session)
        codes = {a.id: a.code for a in agencies}
        by_code = {a.code: a for a in agencies}
        existing = find_agency(session, code) if code is not None else None
        target = code if existing is not None else clean.get("code", "")
        if existing is None and target in by_code:
            problems.append(problem("code", f"an agency with code {target!r} already exists.",
                                    f"Đã có cơ quan mã {target!r}."))
        parents = {a.code: codes.get(a.parent_id, "") for a in agencies}
        problems += parent_problems(target, clean["parent_code"], parents, set(by_code))
        if problems:
            raise invalid(problems)
        before = agency_dict(existing, codes) if existing is not None else None
        agency = existing or Agency(code=target)
        apply_agency(agency, clean, by_code)
        if code is not None:
            agency.active = flag(values.get("active", ""))
        session.add(agency)
        session.flush()
        codes[agency.id] = agency.code
        after = agency_dict(agency, codes)
        audit.append(session, actor=actor,
                     action="admin_agency_update" if before else "admin_agency_create",
                     detail={"agency": agency.code, "before": before, "after": after})
        return after


def apply_agency(agency: Agency, clean: Mapping, by_code: Mapping[str, Agency]) -> None:
    for attr in ("name_vi", "name_en", "kind", "email", "address"):
        if attr in clean:
            setattr(agency, attr, clean[attr])
    if agency.kind is None:
        agency.kind = "department"
    if "parent_code" in clean:
        parent = by_code.get(clean["parent_code"])
        agency.parent_id = parent.id if parent is not None else None


def _agency_references(session: Session, agency: Agency) -> dict[str, int]:
    """What points at ``agency``: counts by kind, only those above zero."""
    counts = {
        "dossiers": select(func.count()).select_from(Dossier).where(Dossier.agency_id == agency.id),
        "users": select(func.count()).select_from(User).where(User.agency_id == agency.id),
        "roles": select(func.count()).select_from(UserRole).where(UserRole.agency_id == agency.id),
        "procedures": select(func.count()).select_from(Procedure)
        .where(Procedure.agency_id == agency.id),
        "receives": select(func.count()).select_from(ProcedureAgency)
        .where(ProcedureAgency.agency_id == agency.id),
        "sub_agencies": select(func.count()).select_from(Agency)
        .where(Agency.parent_id == agency.id),
        "tasks": select(func.count()).select_from(HumanTask)
        .where(HumanTask.agency_id == agency.id),
        "sequences": select(func.count()).select_from(DossierSequence)
        .where(DossierSequence.agency_id == agency.id),
    }
    found = {name: session.execute(query).scalar() or 0 for name, query in counts.items()}
    return {name: n for name, n in found.items() if n}


def remove_agency(p, code: str, *, actor: str) -> dict:
    """Delete an agency nothing points at; close (deactivate) one that is referenced.

    ``{"deleted": bool, "closed": bool, "references": {kind: count}}``.
    """
    with p.db.transaction() as session:
        agency = find_agency(session, code)
        codes = {a.id: a.code for a in all_agencies(session)}
        before = agency_dict(agency, codes)
        references = _agency_references(session, agency)
        if references:
            agency.active = False
            audit.append(session, actor=actor, action="admin_agency_close",
                         detail={"agency": code, "before": before,
                                 "after": agency_dict(agency, codes),
                                 "references": references})
            return {"deleted": False, "closed": True, "references": references}
        session.delete(agency)
        audit.append(session, actor=actor, action="admin_agency_delete",
                     detail={"agency": code, "before": before, "after": None})
        return {"deleted": True, "closed": False, "references": {}}
