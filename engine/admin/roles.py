"""Role names, and which deployed diagrams use a role as a lane."""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit
from ..errors import Conflict, NotFound
from ..models import Procedure, ProcedureVersion, Role, UserRole
from ..vocabulary import RoleCode
from .checks import ADMIN_ROLE, clean_text, invalid, problem

ROLE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
RESERVED_ROLES = frozenset({RoleCode.APPLICANT})  # a lane name meaning the dossier's applicant
_BPMN_LANE = "{http://www.omg.org/spec/BPMN/20100524/MODEL}lane"


_LANES: dict[str, frozenset[str]] = {}


def _lanes(version: ProcedureVersion) -> frozenset[str]:
    """The lane names of a version's diagrams (cached per content: versions never change)."""
    if version.content_hash not in _LANES:
        names = set()
        for path, text in (version.files or {}).items():
            if path.endswith(".bpmn"):
                try:
                    root = etree.fromstring(text.encode("utf-8"))
                except etree.XMLSyntaxError:  # deployed bundles parsed; be safe anyway
                    continue
                names |= {(lane.get("name") or "").strip() for lane in root.iter(_BPMN_LANE)}
        _LANES[version.content_hash] = frozenset(n for n in names if n)
    return _LANES[version.content_hash]


def _role_usage(session: Session) -> dict[str, list[str]]:
    """Role code → the procedures (``code v2``) one of whose deployed versions has a lane
    of that name. Every version counts: running dossiers may still be on an old one."""
    usage: dict[str, list[str]] = {}
    rows = session.execute(select(ProcedureVersion, Procedure.code)
                           .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
                           .order_by(Procedure.code, ProcedureVersion.number)).all()
    for version, code in rows:
        for lane in _lanes(version):
            usage.setdefault(lane, []).append(f"{code} v{version.number}")
    return usage


def list_roles(p) -> list[dict]:
    """Every role with how many assignments it has and which deployed procedures use it."""
    with p.db.transaction() as session:
        usage = _role_usage(session)
        holders = dict(session.execute(select(UserRole.role_code, func.count())
                                       .group_by(UserRole.role_code)).all())
        return [{**r, "holders": holders.get(r["code"], 0), "procedures": usage.get(r["code"], [])}
                for r in ({"code": x.code, "name_vi": x.name_vi, "name_en": x.name_en}
                          for x in session.execute(select(Role).order_by(Role.code)).scalars())]


def get_role(p, code: str) -> dict:
    for role in list_roles(p):
        if role["code"] == code:
            return role
    raise NotFound(f"No role {code!r}.", vi=f"Không có vai trò {code!r}.")


def save_role(p, values: Mapping, *, actor: str, code: str | None = None) -> dict:
    """Create a role (``code`` None) or rename one; a role's code never changes (it is a
    lane name in diagrams)."""
    problems: list[dict] = []
    new_code = code
    if code is None:
        new_code = clean_text(values.get("code"), 40, "code", problems, required=True,
                              label_vi="mã vai trò")
        if new_code and not ROLE_CODE.match(new_code):
            problems.append(problem("code", "a role code is 2–40 lower-case letters, digits or "
                                            "'_', starting with a letter (it is a lane name).",
                                    "Mã vai trò gồm 2–40 chữ thường không dấu, chữ số hoặc "
                                    "'_', bắt đầu bằng chữ (là tên làn trong sơ đồ)."))
        elif new_code in RESERVED_ROLES:
            problems.append(problem("code", f"{new_code!r} is reserved for the applicant.",
                                    f"{new_code!r} dành cho người nộp hồ sơ."))
    name_vi = clean_text(values.get("name_vi"), 255, "name_vi", problems, required=True,
                         label_vi="tên tiếng Việt")
    name_en = clean_text(values.get("name_en"), 255, "name_en", problems, label_vi="tên tiếng Anh")
    with p.db.transaction() as session:
        role = session.get(Role, code) if code is not None else None
        if code is not None and role is None:
            raise NotFound(f"No role {code!r}.", vi=f"Không có vai trò {code!r}.")
        if code is None and new_code and session.get(Role, new_code) is not None:
            problems.append(problem("code", f"the role {new_code!r} already exists.",
                                    f"Đã có vai trò {new_code!r}."))
        if problems:
            raise invalid(problems)
        before = _role_dict(role) if role is not None else None
        role = role or Role(code=new_code)
        role.name_vi, role.name_en = name_vi, name_en
        session.add(role)
        session.flush()
        after = _role_dict(role)
        audit.append(session, actor=actor,
                     action="admin_role_update" if before else "admin_role_create",
                     detail={"role": role.code, "before": before, "after": after})
        return after


def _role_dict(role: Role) -> dict:
    return {"code": role.code, "name_vi": role.name_vi, "name_en": role.name_en}


def delete_role(p, code: str, *, actor: str) -> None:
    """Delete a role that no deployed diagram uses as a lane and nobody holds.

    Raises :class:`Conflict` naming the procedures (or the number of holders) otherwise.
    """
    with p.db.transaction() as session:
        role = session.get(Role, code)
        if role is None:
            raise NotFound(f"No role {code!r}.", vi=f"Không có vai trò {code!r}.")
        used = _role_usage(session).get(code, [])
        if used:
            names = ", ".join(used)
            raise Conflict(f"The role {code!r} is a lane in deployed diagrams ({names}): it "
                           "cannot be deleted.",
                           vi=f"Vai trò {code!r} là làn trong sơ đồ đã triển khai ({names}): "
                              "không thể xóa.", details={"procedures": used})
        if code == ADMIN_ROLE:
            raise Conflict("The admin role cannot be deleted.",
                           vi="Không thể xóa vai trò quản trị hệ thống.")
        holders = session.execute(select(func.count()).select_from(UserRole)
                                  .where(UserRole.role_code == code)).scalar()
        if holders:
            raise Conflict(f"{holders} assignment(s) of the role {code!r} remain: take them "
                           "away from the users first.",
                           vi=f"Còn {holders} người dùng giữ vai trò {code!r}: hãy gỡ vai trò "
                              "khỏi họ trước.", details={"holders": holders})
        before = _role_dict(role)
        session.delete(role)
        audit.append(session, actor=actor, action="admin_role_delete",
                     detail={"role": code, "before": before, "after": None})
