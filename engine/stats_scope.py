"""Who may read which statistics: the province's leadership (role ``leader``) and
administrators see the agency they hold the role in with every sub-agency (at the
province: everything); the head of an agency (``head``) sees that agency and its
sub-agencies. Nobody else reads statistics."""

from __future__ import annotations

from sqlalchemy import select

from .errors import PermissionDenied
from .models import Agency
from .vocabulary import RoleCode

#: The roles that open the statistics, widest first.
STATISTICS_ROLES = (RoleCode.ADMIN, RoleCode.LEADER, RoleCode.HEAD)


def roots(user) -> list[str]:
    """The agency codes whose figures (with sub-agencies) ``user`` may read, or []."""
    if user is None or not getattr(user, "is_staff", False):
        return []
    return sorted({agency for role, agency in user.roles if role in STATISTICS_ROLES})


def may_read(user) -> bool:
    return bool(roots(user))


def resolve(p, user, agency_code: str | None) -> str:
    """The agency whose figures ``user`` reads when asking for ``agency_code`` (default:
    the widest agency they hold a statistics role in). Raises PermissionDenied when they may
    read none, or not that one."""
    allowed = roots(user)
    if not allowed:
        raise PermissionDenied("Statistics are for the province's leaders and heads of agencies.",
                               vi="Chỉ lãnh đạo tỉnh và lãnh đạo cơ quan được xem thống kê.")
    with p.db.read() as session:
        parents = dict(session.execute(select(Agency.code, Agency.parent_id)).all())
        codes = dict(session.execute(select(Agency.id, Agency.code)).all())
    if not agency_code:
        return min(allowed, key=lambda code: _depth(code, parents, codes))
    if agency_code not in parents:
        return agency_code  # unknown: the statistics answer 404 with the right message
    if any(_within(agency_code, root, parents, codes) for root in allowed):
        return agency_code
    raise PermissionDenied(f"You may not read the statistics of agency {agency_code}.",
                           vi=f"Bạn không được xem thống kê của cơ quan {agency_code}.")


def visible_agencies(p, user) -> list[dict]:
    """The agencies ``user`` may pick on the leaders' page ``{code, name_vi, name_en}``."""
    allowed = roots(user)
    with p.db.read() as session:
        rows = session.execute(select(Agency).order_by(Agency.code)).scalars().all()
        parents = {a.code: a.parent_id for a in rows}
        codes = {a.id: a.code for a in rows}
        return [{"code": a.code, "name_vi": a.name_vi, "name_en": a.name_en} for a in rows
                if any(_within(a.code, root, parents, codes) for root in allowed)]


def _within(code: str, root: str, parents: dict, codes: dict) -> bool:
    seen = set()
    while code and code not in seen:
        if code == root:
            return True
        seen.add(code)
        code = codes.get(parents.get(code))
    return False


def _depth(code: str, parents: dict, codes: dict) -> int:
    depth = 0
    while (parent := parents.get(code)) is not None and depth < 50:
        code, depth = codes.get(parent), depth + 1
    return depth
