"""Users, the roles they hold in agencies, activity and passwords."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import accounts, audit
from ..errors import Conflict
from ..lookup import by_code
from ..models import Agency, Role, User, UserRole
from .agencies import all_agencies
from .checks import (
    ADMIN_ROLE,
    MIN_PASSWORD,
    USERNAME,
    clean_email,
    clean_text,
    flag,
    invalid,
    problem,
)

USER_KINDS = ("citizen", "firm", "staff")
USER_COLUMNS = ("username", "full_name", "kind", "email", "phone", "id_number", "title",
                "agency_code", "roles", "password")



def user_dict(session: Session, user: User) -> dict:
    roles = session.execute(select(UserRole.role_code, Agency.code)
                            .join(Agency, Agency.id == UserRole.agency_id)
                            .where(UserRole.user_id == user.id)).all()
    return {"username": user.username, "full_name": user.full_name, "kind": user.kind,
            "email": user.email, "phone": user.phone, "id_number": user.id_number,
            "title": user.title, "agency_code": user.agency.code if user.agency else "",
            "agency_name": user.agency.name_vi if user.agency else "", "active": user.active,
            "roles": sorted(f"{role}@{agency}" for role, agency in roles)}


def audit_user(d: dict | None) -> dict | None:
    return None if d is None else {k: v for k, v in d.items() if k != "agency_name"}


def list_users(p, query: str = "", *, limit: int = 200) -> list[dict]:
    """Users whose username, name, e-mail or ID number contains ``query`` (any case,
    Vietnamese letters included: compared in Python, as SQLite's ``lower`` knows only
    ASCII), by username, at most ``limit``."""
    needle = unicodedata.normalize("NFC", query or "").strip().casefold()
    with p.db.transaction() as session:
        users = session.execute(select(User).order_by(User.username)).scalars()
        found = [u for u in users if not needle or needle in " ".join(
            (u.username, u.full_name, u.email, u.id_number)).casefold()][:limit]
        return [user_dict(session, u) for u in found]


def get_user(p, username: str) -> dict:
    with p.db.transaction() as session:
        return user_dict(session, find_user(session, username))


def find_user(session: Session, username: str) -> User:
    return by_code(session, User, username)


def parse_roles(value) -> list[str]:
    """``"reception@000.00.14.H56;head@000.00.14.H56"`` (or a list) as ``role@agency``
    items, in order, without blanks or repeats."""
    items = value if isinstance(value, list | tuple) else re.split(r"[;\n]", str(value or ""))
    out: list[str] = []
    for item in items:
        item = unicodedata.normalize("NFC", str(item)).strip().replace(" ", "")
        if item and item not in out:
            out.append(item)
    return out


def clean_user(raw: Mapping, problems: list[dict], *, present: Iterable[str],
                new: bool) -> dict:
    """A user's values from a form or a CSV row, checked on their own (no database)."""
    present = set(present)
    out: dict = {}
    if "username" in present:
        name = clean_text(raw.get("username"), 80, "username", problems, required=True,
                          label_vi="tên đăng nhập")
        if name and not USERNAME.match(name):
            problems.append(problem("username", "a username is 3–80 lower-case letters, digits, "
                                                "'.', '_' or '-', starting with a letter or digit.",
                                    "Tên đăng nhập gồm 3–80 chữ thường không dấu, chữ số, "
                                    "'.', '_' hoặc '-', bắt đầu bằng chữ hoặc số."))
        out["username"] = name
    if "full_name" in present:
        out["full_name"] = clean_text(raw.get("full_name"), 255, "full_name", problems, required=True,
                                      label_vi="họ và tên")
    if "kind" in present:
        kind = clean_text(raw.get("kind"), 20, "kind", problems)
        if kind and kind not in USER_KINDS:
            problems.append(problem("kind", f"kind must be one of {', '.join(USER_KINDS)}.",
                                    f"Loại tài khoản phải là một trong {', '.join(USER_KINDS)}."))
        if kind:
            out["kind"] = kind
    if new and not out.get("kind"):
        out["kind"] = "staff"  # imports and the form create officers unless told otherwise
    if "email" in present:
        out["email"] = clean_email(raw.get("email"), "email", problems)
    for attr, limit, label in (("phone", 40, "số điện thoại"), ("id_number", 40, "số định danh"),
                               ("title", 255, "chức vụ"), ("agency_code", 40, "mã cơ quan")):
        if attr in present:
            out[attr] = clean_text(raw.get(attr), limit, attr, problems, label_vi=label)
    if "roles" in present:
        out["roles"] = parse_roles(raw.get("roles"))
    password = str(raw.get("password") or "") if "password" in present else ""
    if password:
        if len(password) < MIN_PASSWORD:
            problems.append(problem("password", f"a password needs at least {MIN_PASSWORD} "
                                                "characters.",
                                    f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự."))
        out["password"] = password
    return out


def reference_problems(clean: Mapping, agencies: Mapping[str, Agency], roles: set[str],
                        held: set[str]) -> list[dict]:
    """The user's agency and every ``role@agency`` must exist; a role newly given in a
    closed agency is refused (``held`` are the ones the user already has)."""
    problems = []
    code = clean.get("agency_code")
    if code and code not in agencies:
        problems.append(problem("agency_code", f"no agency with code {code!r}.",
                                f"Không có cơ quan mã {code!r}."))
    for item in clean.get("roles", []):
        role, _, agency = item.partition("@")
        if not role or not agency:
            problems.append(problem("roles", f"{item!r}: write a role as role@agency code "
                                             "(e.g. reception@000.00.14.H56).",
                                    f"{item!r}: ghi vai trò dạng vai_trò@mã_cơ_quan "
                                    "(ví dụ reception@000.00.14.H56)."))
        elif role not in roles:
            problems.append(problem("roles", f"{item!r}: no role {role!r} "
                                             f"(known: {', '.join(sorted(roles))}).",
                                    f"{item!r}: không có vai trò {role!r} "
                                    f"(các vai trò: {', '.join(sorted(roles))})."))
        elif agency not in agencies:
            problems.append(problem("roles", f"{item!r}: no agency with code {agency!r}.",
                                    f"{item!r}: không có cơ quan mã {agency!r}."))
        elif not agencies[agency].active and item not in held:
            problems.append(problem("roles", f"{item!r}: agency {agency} is closed.",
                                    f"{item!r}: cơ quan {agency} đã ngừng hoạt động."))
    return problems


def lockout_problems(actor: str, username: str, clean: Mapping, active: bool) -> list[dict]:
    if actor != username:
        return []
    problems = []
    if not active:
        problems.append(problem("active", "you cannot deactivate your own account.",
                                "Không thể tự khóa tài khoản của chính mình."))
    if "roles" in clean and not any(r.startswith(ADMIN_ROLE + "@") for r in clean["roles"]):
        problems.append(problem("roles", "you cannot take away your own admin role.",
                                "Không thể tự bỏ vai trò quản trị của chính mình."))
    return problems


def apply_user(session: Session, user: User, clean: Mapping,
                agencies: Mapping[str, Agency]) -> None:
    for attr in ("full_name", "kind", "email", "phone", "id_number", "title"):
        if attr in clean:
            setattr(user, attr, clean[attr])
    if "agency_code" in clean:
        user.agency = agencies.get(clean["agency_code"])  # the relationship: views follow
    if "password" in clean:
        accounts.set_password(user, clean["password"])
    session.flush()
    if "roles" in clean:
        wanted = [(r.partition("@")[0], agencies[r.partition("@")[2]].id) for r in clean["roles"]]
        current = {(r.role_code, r.agency_id): r for r in user.roles}
        user.roles = [current.get(key) or UserRole(user_id=user.id, role_code=key[0],
                                                   agency_id=key[1]) for key in wanted]
        session.flush()


def save_user(p, values: Mapping, *, actor: str, username: str | None = None) -> dict:
    """Create a user (``username`` None) or edit one. ``values``: the form's fields,
    ``roles`` a list of ``role@agency``, ``active`` a checkbox (edits only), ``password``
    optional: a new user without one gets a generated one-time password.

    ``{"user": {…}, "password": the generated password or None}``.
    """
    problems: list[dict] = []
    fields = [c for c in USER_COLUMNS if username is None or c not in ("username", "password")]
    clean = clean_user(values, problems, present=fields, new=username is None)
    with p.db.transaction() as session:
        agencies = {a.code: a for a in all_agencies(session)}
        roles = set(session.execute(select(Role.code)).scalars())
        user = find_user(session, username) if username is not None else None
        before = user_dict(session, user) if user is not None else None
        if user is None and session.execute(select(User.id).where(
                User.username == clean.get("username"))).first() is not None:
            problems.append(problem("username", f"the username {clean['username']!r} is taken.",
                                    f"Tên đăng nhập {clean['username']!r} đã có người dùng."))
        problems += reference_problems(clean, agencies, roles, set(before["roles"]) if before
                                       else set())
        active = flag(values.get("active", "")) if user is not None else True
        if user is not None:
            problems += lockout_problems(actor, user.username, clean, active)
        if problems:
            raise invalid(problems)
        generated = None
        if user is None:
            if "password" not in clean:
                generated = clean["password"] = accounts.generate_password()
            user = User(username=clean["username"], password_hash="")
            session.add(user)
        user.active = active
        apply_user(session, user, clean, agencies)
        after = user_dict(session, user)
        audit.append(session, actor=actor,
                     action="admin_user_update" if before else "admin_user_create",
                     detail={"user": user.username, "before": audit_user(before),
                             "after": audit_user(after)})
    accounts.forget_cached_tokens()  # roles or activity changed: API tokens see it now
    return {"user": after, "password": generated}


def set_user_active(p, username: str, active: bool, *, actor: str) -> dict:
    """Deactivate (sign-in refused, sessions stop at once; API tokens at once in this
    process, within :data:`engine.accounts.TOKEN_CACHE_SECONDS` in other server
    processes) or reactivate."""
    with p.db.transaction() as session:
        user = find_user(session, username)
        if actor == username and not active:
            raise Conflict("You cannot deactivate your own account.",
                           vi="Không thể tự khóa tài khoản của chính mình.")
        before = user_dict(session, user)
        user.active = active
        after = user_dict(session, user)
        audit.append(session, actor=actor,
                     action="admin_user_activate" if active else "admin_user_deactivate",
                     detail={"user": username, "before": audit_user(before),
                             "after": audit_user(after)})
    accounts.forget_cached_tokens()
    return after


def reset_password(p, username: str, *, actor: str, password: str | None = None) -> str:
    """Set a new password (generated when not given) and return it, to be shown once.
    The audit records that it changed, never the password."""
    if password is not None and len(password) < MIN_PASSWORD:
        raise invalid([problem("password", f"a password needs at least {MIN_PASSWORD} "
                                           "characters.",
                               f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.")])
    new = password or accounts.generate_password()
    with p.db.transaction() as session:
        user = find_user(session, username)
        accounts.set_password(user, new)
        audit.append(session, actor=actor, action="admin_user_password_reset",
                     detail={"user": username, "before": None, "after": None})
    return new
