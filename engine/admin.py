"""Administration: the organisation as data (DESIGN.md, *administrator*).

Agencies, users and the roles they hold in agencies, role names, the calendar's
overrides and which agencies receive which procedure are rows an administrator edits
here, never code. Every function takes the platform and the acting username, runs in
one transaction and appends an ``admin_*`` audit event with the state before and after.

Decisions:

- **Bad input loses nothing and names its field.** Validation collects every problem of
  a form (or of a whole CSV file) before writing anything and raises :class:`InvalidData`
  whose ``details`` are ``{field, message, message_vi}`` (CSV: also ``line`` and
  ``column``), so a page re-renders the values with each message beside its field.
- **CSV imports are all or nothing.** The whole file is checked first, rows may refer to
  each other (a district office to the district above it, in any order), and nothing is
  written if any row is bad. Rows are upserted by their key (agency code, username).
  A column left out of the file leaves that attribute of existing rows alone; an empty
  cell clears it. A new user without a password gets a generated one-time password,
  returned once; an existing user without one keeps theirs.
- **Referenced rows are closed, not deleted.** An agency that dossiers, users, tasks or
  procedures point at is closed (``active = False``): history keeps its name, and
  :func:`engine.procedures.receiving_agencies` stops offering it. A role that a deployed
  diagram names as a lane cannot be deleted at all (the diagram would stop validating).
- **An administrator cannot lock the door behind them**: they cannot deactivate their own
  account or take away their own ``admin`` role.
- Codes: agency codes follow QCVN 102:2016 (``000.00.14.H56``: three levels of two or
  three digits, then the level-1 unit, a letter and two digits).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from holidays.countries import Vietnam
from lxml import etree
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from . import accounts, audit
from .calendar import OFF, WORK, WorkingCalendar
from .errors import Conflict, InvalidData, NotFound
from .models import (
    Agency,
    CalendarOverride,
    Dossier,
    DossierSequence,
    HumanTask,
    Procedure,
    ProcedureAgency,
    ProcedureVersion,
    Role,
    User,
    UserRole,
)
from .procedures import receiving_agencies

AGENCY_CODE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
#: Kinds offered for an agency; others (``[a-z_]``) are accepted, for other provinces' shapes.
AGENCY_KINDS = ("province", "department", "district", "district_finance", "commune", "other")
USER_KINDS = ("citizen", "firm", "staff")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,79}$")
ROLE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
KIND = re.compile(r"^[a-z][a-z0-9_]{1,19}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
ADMIN_ROLE = accounts.STAFF_ROLES_ADMIN
RESERVED_ROLES = frozenset({"applicant"})  # a lane name meaning the dossier's applicant
AGENCY_COLUMNS = ("code", "name_vi", "name_en", "kind", "parent_code", "email", "address")
USER_COLUMNS = ("username", "full_name", "kind", "email", "phone", "id_number", "title",
                "agency_code", "roles", "password")
_BPMN_LANE = "{http://www.omg.org/spec/BPMN/20100524/MODEL}lane"


# -- problems ----------------------------------------------------------------------------

def _problem(field: str, en: str, vi: str) -> dict:
    return {"field": field, "message": en, "message_vi": vi}


def _invalid(problems: list[dict]) -> InvalidData:
    return InvalidData(f"Please correct {len(problems)} problem(s) and submit again.",
                       vi=f"Vui lòng sửa {len(problems)} lỗi rồi gửi lại.", details=problems)


def _text(value, limit: int, field: str, problems: list[dict], *, required: bool = False,
          label_vi: str = "") -> str:
    """``value`` stripped and NFC-normalised; a problem if it is missing or too long."""
    text = unicodedata.normalize("NFC", str(value or "")).strip()
    if required and not text:
        problems.append(_problem(field, f"{field} is required.",
                                 f"Cần nhập {label_vi or field}."))
    elif len(text) > limit:
        problems.append(_problem(field, f"{field} is longer than {limit} characters.",
                                 f"{label_vi or field} dài quá {limit} ký tự."))
    return text


def _email(value, field: str, problems: list[dict]) -> str:
    text = _text(value, 255, field, problems)
    if text and not EMAIL.match(text):
        problems.append(_problem(field, f"{text!r} is not an e-mail address.",
                                 f"{text!r} không phải địa chỉ thư điện tử."))
    return text


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "on", "yes", "y", "có", "x")


def counts(p) -> dict[str, int]:
    """How many of each thing there is to manage, for the administrator's start page."""
    with p.db.transaction() as session:
        return {name: session.execute(select(func.count()).select_from(model)).scalar() or 0
                for name, model in (("agencies", Agency), ("users", User), ("roles", Role),
                                    ("procedures", Procedure), ("overrides", CalendarOverride))}


# -- agencies ----------------------------------------------------------------------------

def _agency_dict(agency: Agency, codes: Mapping[int, str]) -> dict:
    return {"code": agency.code, "name_vi": agency.name_vi, "name_en": agency.name_en,
            "kind": agency.kind, "parent_code": codes.get(agency.parent_id, "") if
            agency.parent_id else "", "email": agency.email, "address": agency.address,
            "active": agency.active}


def _all_agencies(session: Session) -> list[Agency]:
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
        agencies = _all_agencies(session)
        by_id = {a.id: a for a in agencies}
        codes = {a.id: a.code for a in agencies}
        rows = []
        for agency, depth in _tree_order(agencies):
            haystack = " ".join((agency.code, agency.name_vi, agency.name_en)).casefold()
            if needle and needle not in haystack:
                continue
            parent = by_id.get(agency.parent_id)
            rows.append({**_agency_dict(agency, codes), "id": agency.id, "depth": depth,
                         "parent_name": parent.name_vi if parent else ""})
        return rows


def agency_kinds(p) -> list[str]:
    """The kinds to offer: the usual ones and any already in use."""
    with p.db.transaction() as session:
        used = set(session.execute(select(Agency.kind).distinct()).scalars())
    return list(AGENCY_KINDS) + sorted(used - set(AGENCY_KINDS))


def get_agency(p, code: str) -> dict:
    with p.db.transaction() as session:
        agency = _agency(session, code)
        codes = {a.id: a.code for a in _all_agencies(session)}
        return {**_agency_dict(agency, codes), "references": _agency_references(session, agency)}


def _agency(session: Session, code: str) -> Agency:
    agency = session.execute(select(Agency).where(Agency.code == code)).scalar()
    if agency is None:
        raise NotFound(f"No agency with code {code!r}.", vi=f"Không có cơ quan mã {code!r}.")
    return agency


def _clean_agency(raw: Mapping, problems: list[dict], *, present: Iterable[str] = AGENCY_COLUMNS
                  ) -> dict:
    """An agency's values from a form or a CSV row, checked on their own (no database)."""
    present = set(present)
    out: dict = {}
    if "code" in present:
        code = _text(raw.get("code"), 40, "code", problems, required=True, label_vi="mã cơ quan")
        if code and not AGENCY_CODE.match(code):
            problems.append(_problem(
                "code", f"{code!r} is not an agency code as QCVN 102:2016 writes them "
                        "(e.g. 000.00.14.H56).",
                f"{code!r} không đúng mẫu mã định danh theo QCVN 102:2016 (ví dụ 000.00.14.H56)."))
        out["code"] = code
    if "name_vi" in present:
        out["name_vi"] = _text(raw.get("name_vi"), 255, "name_vi", problems, required=True,
                               label_vi="tên tiếng Việt")
    if "name_en" in present:
        out["name_en"] = _text(raw.get("name_en"), 255, "name_en", problems,
                               label_vi="tên tiếng Anh")
    if "kind" in present:
        kind = _text(raw.get("kind"), 20, "kind", problems)
        if kind and not KIND.match(kind):
            problems.append(_problem("kind", f"kind {kind!r}: use lower-case letters and _ "
                                             f"(e.g. {', '.join(AGENCY_KINDS[:3])}).",
                                     f"Loại {kind!r}: chỉ dùng chữ thường không dấu và _ "
                                     f"(ví dụ {', '.join(AGENCY_KINDS[:3])})."))
        if kind:
            out["kind"] = kind
    if "parent_code" in present:
        out["parent_code"] = _text(raw.get("parent_code"), 40, "parent_code", problems)
    if "email" in present:
        out["email"] = _email(raw.get("email"), "email", problems)
    if "address" in present:
        out["address"] = _text(raw.get("address"), 500, "address", problems,
                               label_vi="địa chỉ")
    return out


def _parent_problems(code: str, parent_code: str, parents: Mapping[str, str],
                     known: set[str]) -> list[dict]:
    """The parent must exist, and following parents up from it must not come back to
    ``code`` (``parents`` maps every code to its parent's code, edits included)."""
    if not parent_code:
        return []
    if parent_code not in known:
        return [_problem("parent_code", f"no agency with code {parent_code!r}.",
                         f"Không có cơ quan cấp trên mã {parent_code!r}.")]
    seen, current = set(), parent_code
    while current and current not in seen:
        if current == code:
            return [_problem("parent_code", "an agency cannot be under itself or under one "
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
    clean = _clean_agency(values, problems, present=fields)
    with p.db.transaction() as session:
        agencies = _all_agencies(session)
        codes = {a.id: a.code for a in agencies}
        by_code = {a.code: a for a in agencies}
        existing = _agency(session, code) if code is not None else None
        target = code if existing is not None else clean.get("code", "")
        if existing is None and target in by_code:
            problems.append(_problem("code", f"an agency with code {target!r} already exists.",
                                     f"Đã có cơ quan mã {target!r}."))
        parents = {a.code: codes.get(a.parent_id, "") for a in agencies}
        problems += _parent_problems(target, clean["parent_code"], parents, set(by_code))
        if problems:
            raise _invalid(problems)
        before = _agency_dict(existing, codes) if existing is not None else None
        agency = existing or Agency(code=target)
        _apply_agency(agency, clean, by_code)
        if code is not None:
            agency.active = _flag(values.get("active", ""))
        session.add(agency)
        session.flush()
        codes[agency.id] = agency.code
        after = _agency_dict(agency, codes)
        audit.append(session, actor=actor,
                     action="admin_agency_update" if before else "admin_agency_create",
                     detail={"agency": agency.code, "before": before, "after": after})
        return after


def _apply_agency(agency: Agency, clean: Mapping, by_code: Mapping[str, Agency]) -> None:
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
        agency = _agency(session, code)
        codes = {a.id: a.code for a in _all_agencies(session)}
        before = _agency_dict(agency, codes)
        references = _agency_references(session, agency)
        if references:
            agency.active = False
            audit.append(session, actor=actor, action="admin_agency_close",
                         detail={"agency": code, "before": before,
                                 "after": _agency_dict(agency, codes),
                                 "references": references})
            return {"deleted": False, "closed": True, "references": references}
        session.delete(agency)
        audit.append(session, actor=actor, action="admin_agency_delete",
                     detail={"agency": code, "before": before, "after": None})
        return {"deleted": True, "closed": False, "references": {}}


# -- CSV ---------------------------------------------------------------------------------

@dataclass
class _Sheet:
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (line number in the file, cells by column)


def _csv_problem(line: int, column: str, en: str, vi: str) -> dict:
    where_en = f"line {line}" + (f", column {column}" if column else "")
    where_vi = f"Dòng {line}" + (f", cột {column}" if column else "")
    return {"line": line, "column": column, "field": column,
            "message": f"{where_en}: {en}", "message_vi": f"{where_vi}: {vi}"}


def _csv_invalid(problems: list[dict], *, what: str) -> InvalidData:
    problems.sort(key=lambda item: (item["line"], item["column"]))
    first = problems[0]
    return InvalidData(
        f"The {what} file was not imported (nothing was written): {len(problems)} problem(s), "
        f"the first: {first['message']}",
        vi=f"Tệp chưa được nhập (chưa ghi gì): {len(problems)} lỗi, lỗi đầu tiên: "
           f"{first['message_vi']}",
        details=problems)


def _read_csv(data: bytes | str, columns: tuple[str, ...], required: tuple[str, ...], *,
              what: str) -> _Sheet:
    """The file's header and rows. UTF-8 (with or without Excel's BOM); the delimiter is a
    comma, or a semicolon or tab when the header has no comma (Excel in some locales)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _csv_invalid([_csv_problem(
                1, "", "the file is not UTF-8 text: save it as “CSV UTF-8”.",
                "tệp không phải văn bản UTF-8: hãy lưu dưới dạng “CSV UTF-8”.")], what=what) from None
    text = data.lstrip("\ufeff")
    header_line = text.split("\n", 1)[0]
    delimiter = "," if "," in header_line else (";" if ";" in header_line
                                                else ("\t" if "\t" in header_line else ","))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise _csv_invalid([_csv_problem(1, "", "the file is empty.", "tệp rỗng.")],
                           what=what) from None
    names = [unicodedata.normalize("NFC", h).strip().lower() for h in header]
    problems = []
    for name in names:
        if name not in columns:
            problems.append(_csv_problem(1, name, f"unknown column (expected: {', '.join(columns)}).",
                                         f"cột không hợp lệ (các cột: {', '.join(columns)})."))
    for name in required:
        if name not in names:
            problems.append(_csv_problem(1, name, "this column is required.", "thiếu cột bắt buộc."))
    for name in {n for n in names if names.count(n) > 1}:
        problems.append(_csv_problem(1, name, "the column appears twice.", "cột bị lặp lại."))
    if problems:
        raise _csv_invalid(problems, what=what)
    rows = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(names):
                problems.append(_csv_problem(
                    line, "", f"{len(cells)} cells where the header has {len(names)}.",
                    f"có {len(cells)} ô trong khi dòng tiêu đề có {len(names)} cột."))
                continue
            rows.append((line, dict(zip(names, cells, strict=True))))
    except csv.Error as exc:
        problems.append(_csv_problem(reader.line_num, "", f"not valid CSV: {exc}.",
                                     f"không đúng định dạng CSV: {exc}."))
    if not rows and not problems:
        problems.append(_csv_problem(2, "", "the file has no rows under its header.",
                                     "tệp không có dòng dữ liệu nào dưới dòng tiêu đề."))
    if problems:
        raise _csv_invalid(problems, what=what)
    return _Sheet(names, rows)


def _row_problems(line: int, problems: list[dict]) -> list[dict]:
    """Form-style problems of one row as CSV problems naming the line and the column."""
    return [_csv_problem(line, item["field"], item["message"], item["message_vi"])
            for item in problems]


def import_agencies(p, data: bytes | str, *, actor: str) -> dict:
    """Upsert agencies by code from a CSV file (columns :data:`AGENCY_COLUMNS`; ``code``
    and ``name_vi`` required). All rows are checked first; any problem raises
    :class:`InvalidData` naming line and column and writes nothing.

    ``{"rows": n, "created": n, "updated": n, "unchanged": n}``.
    """
    sheet = _read_csv(data, AGENCY_COLUMNS, ("code", "name_vi"), what="agency")
    problems: list[dict] = []
    cleaned: list[tuple[int, dict]] = []
    seen: dict[str, int] = {}
    for line, cells in sheet.rows:
        row_problems: list[dict] = []
        clean = _clean_agency(cells, row_problems, present=sheet.columns)
        problems += _row_problems(line, row_problems)
        code = clean.get("code", "")
        if code in seen:
            problems.append(_csv_problem(line, "code", f"{code} is already on line {seen[code]}.",
                                         f"mã {code} đã có ở dòng {seen[code]}."))
        seen.setdefault(code, line)
        cleaned.append((line, clean))
    with p.db.transaction() as session:
        agencies = _all_agencies(session)
        codes = {a.id: a.code for a in agencies}
        by_code = {a.code: a for a in agencies}
        parents = {a.code: codes.get(a.parent_id, "") for a in agencies}
        for _, clean in cleaned:
            if "parent_code" in clean and clean.get("code"):
                parents[clean["code"]] = clean["parent_code"]
        known = set(by_code) | {c["code"] for _, c in cleaned if c.get("code")}
        for line, clean in cleaned:
            if clean.get("code") and "parent_code" in clean:
                problems += _row_problems(line, _parent_problems(
                    clean["code"], clean["parent_code"], parents, known))
        if problems:
            raise _csv_invalid(problems, what="agency")
        return _write_agencies(session, cleaned, by_code, codes, actor)


def _write_agencies(session: Session, cleaned: list[tuple[int, dict]],
                    by_code: dict[str, Agency], codes: dict[int, str], actor: str) -> dict:
    """Insert the new agencies first (so any row may name another as its parent), then
    set every row's values and parent."""
    created = updated = unchanged = 0
    new_codes = set()
    for _, clean in cleaned:
        if clean["code"] not in by_code:
            agency = Agency(code=clean["code"], name_vi=clean["name_vi"], kind="department")
            session.add(agency)
            by_code[clean["code"]] = agency
            new_codes.add(clean["code"])
    session.flush()
    codes.update({a.id: code for code, a in by_code.items()})
    for line, clean in cleaned:
        agency = by_code[clean["code"]]
        new = clean["code"] in new_codes
        before = None if new else _agency_dict(agency, codes)
        _apply_agency(agency, clean, by_code)
        after = _agency_dict(agency, codes)
        if before == after:
            unchanged += 1
            continue
        created, updated = created + new, updated + (not new)
        audit.append(session, actor=actor,
                     action="admin_agency_create" if new else "admin_agency_update",
                     detail={"agency": agency.code, "source": "csv", "line": line,
                             "before": before, "after": after})
    session.flush()
    return {"rows": len(cleaned), "created": created, "updated": updated, "unchanged": unchanged}


# -- users -------------------------------------------------------------------------------

def _user_dict(session: Session, user: User) -> dict:
    roles = session.execute(select(UserRole.role_code, Agency.code)
                            .join(Agency, Agency.id == UserRole.agency_id)
                            .where(UserRole.user_id == user.id)).all()
    return {"username": user.username, "full_name": user.full_name, "kind": user.kind,
            "email": user.email, "phone": user.phone, "id_number": user.id_number,
            "title": user.title, "agency_code": user.agency.code if user.agency else "",
            "agency_name": user.agency.name_vi if user.agency else "", "active": user.active,
            "roles": sorted(f"{role}@{agency}" for role, agency in roles)}


def _audit_user(d: dict | None) -> dict | None:
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
        return [_user_dict(session, u) for u in found]


def get_user(p, username: str) -> dict:
    with p.db.transaction() as session:
        return _user_dict(session, _user(session, username))


def _user(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar()
    if user is None:
        raise NotFound(f"No user {username!r}.", vi=f"Không có người dùng {username!r}.")
    return user


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


def _clean_user(raw: Mapping, problems: list[dict], *, present: Iterable[str],
                new: bool) -> dict:
    """A user's values from a form or a CSV row, checked on their own (no database)."""
    present = set(present)
    out: dict = {}
    if "username" in present:
        name = _text(raw.get("username"), 80, "username", problems, required=True,
                     label_vi="tên đăng nhập")
        if name and not USERNAME.match(name):
            problems.append(_problem("username", "a username is 3–80 lower-case letters, digits, "
                                                 "'.', '_' or '-', starting with a letter or digit.",
                                     "Tên đăng nhập gồm 3–80 chữ thường không dấu, chữ số, "
                                     "'.', '_' hoặc '-', bắt đầu bằng chữ hoặc số."))
        out["username"] = name
    if "full_name" in present:
        out["full_name"] = _text(raw.get("full_name"), 255, "full_name", problems, required=True,
                                 label_vi="họ và tên")
    if "kind" in present:
        kind = _text(raw.get("kind"), 20, "kind", problems)
        if kind and kind not in USER_KINDS:
            problems.append(_problem("kind", f"kind must be one of {', '.join(USER_KINDS)}.",
                                     f"Loại tài khoản phải là một trong {', '.join(USER_KINDS)}."))
        if kind:
            out["kind"] = kind
    if new and not out.get("kind"):
        out["kind"] = "staff"  # imports and the form create officers unless told otherwise
    if "email" in present:
        out["email"] = _email(raw.get("email"), "email", problems)
    for attr, limit, label in (("phone", 40, "số điện thoại"), ("id_number", 40, "số định danh"),
                               ("title", 255, "chức vụ"), ("agency_code", 40, "mã cơ quan")):
        if attr in present:
            out[attr] = _text(raw.get(attr), limit, attr, problems, label_vi=label)
    if "roles" in present:
        out["roles"] = parse_roles(raw.get("roles"))
    password = str(raw.get("password") or "") if "password" in present else ""
    if password:
        if len(password) < MIN_PASSWORD:
            problems.append(_problem("password", f"a password needs at least {MIN_PASSWORD} "
                                                 "characters.",
                                     f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự."))
        out["password"] = password
    return out


def _reference_problems(clean: Mapping, agencies: Mapping[str, Agency], roles: set[str],
                        held: set[str]) -> list[dict]:
    """The user's agency and every ``role@agency`` must exist; a role newly given in a
    closed agency is refused (``held`` are the ones the user already has)."""
    problems = []
    code = clean.get("agency_code")
    if code and code not in agencies:
        problems.append(_problem("agency_code", f"no agency with code {code!r}.",
                                 f"Không có cơ quan mã {code!r}."))
    for item in clean.get("roles", []):
        role, _, agency = item.partition("@")
        if not role or not agency:
            problems.append(_problem("roles", f"{item!r}: write a role as role@agency code "
                                              "(e.g. reception@000.00.14.H56).",
                                     f"{item!r}: ghi vai trò dạng vai_trò@mã_cơ_quan "
                                     "(ví dụ reception@000.00.14.H56)."))
        elif role not in roles:
            problems.append(_problem("roles", f"{item!r}: no role {role!r} "
                                              f"(known: {', '.join(sorted(roles))}).",
                                     f"{item!r}: không có vai trò {role!r} "
                                     f"(các vai trò: {', '.join(sorted(roles))})."))
        elif agency not in agencies:
            problems.append(_problem("roles", f"{item!r}: no agency with code {agency!r}.",
                                     f"{item!r}: không có cơ quan mã {agency!r}."))
        elif not agencies[agency].active and item not in held:
            problems.append(_problem("roles", f"{item!r}: agency {agency} is closed.",
                                     f"{item!r}: cơ quan {agency} đã ngừng hoạt động."))
    return problems


def _lockout_problems(actor: str, username: str, clean: Mapping, active: bool) -> list[dict]:
    if actor != username:
        return []
    problems = []
    if not active:
        problems.append(_problem("active", "you cannot deactivate your own account.",
                                 "Không thể tự khóa tài khoản của chính mình."))
    if "roles" in clean and not any(r.startswith(ADMIN_ROLE + "@") for r in clean["roles"]):
        problems.append(_problem("roles", "you cannot take away your own admin role.",
                                 "Không thể tự bỏ vai trò quản trị của chính mình."))
    return problems


def _apply_user(session: Session, user: User, clean: Mapping,
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
    clean = _clean_user(values, problems, present=fields, new=username is None)
    with p.db.transaction() as session:
        agencies = {a.code: a for a in _all_agencies(session)}
        roles = set(session.execute(select(Role.code)).scalars())
        user = _user(session, username) if username is not None else None
        before = _user_dict(session, user) if user is not None else None
        if user is None and session.execute(select(User.id).where(
                User.username == clean.get("username"))).first() is not None:
            problems.append(_problem("username", f"the username {clean['username']!r} is taken.",
                                     f"Tên đăng nhập {clean['username']!r} đã có người dùng."))
        problems += _reference_problems(clean, agencies, roles, set(before["roles"]) if before
                                        else set())
        active = _flag(values.get("active", "")) if user is not None else True
        if user is not None:
            problems += _lockout_problems(actor, user.username, clean, active)
        if problems:
            raise _invalid(problems)
        generated = None
        if user is None:
            if "password" not in clean:
                generated = clean["password"] = accounts.generate_password()
            user = User(username=clean["username"], password_hash="")
            session.add(user)
        user.active = active
        _apply_user(session, user, clean, agencies)
        after = _user_dict(session, user)
        audit.append(session, actor=actor,
                     action="admin_user_update" if before else "admin_user_create",
                     detail={"user": user.username, "before": _audit_user(before),
                             "after": _audit_user(after)})
    accounts.forget_cached_tokens()  # roles or activity changed: API tokens see it now
    return {"user": after, "password": generated}


def set_user_active(p, username: str, active: bool, *, actor: str) -> dict:
    """Deactivate (sign-in refused, sessions stop at once; API tokens at once in this
    process, within :data:`engine.accounts.TOKEN_CACHE_SECONDS` in other server
    processes) or reactivate."""
    with p.db.transaction() as session:
        user = _user(session, username)
        if actor == username and not active:
            raise Conflict("You cannot deactivate your own account.",
                           vi="Không thể tự khóa tài khoản của chính mình.")
        before = _user_dict(session, user)
        user.active = active
        after = _user_dict(session, user)
        audit.append(session, actor=actor,
                     action="admin_user_activate" if active else "admin_user_deactivate",
                     detail={"user": username, "before": _audit_user(before),
                             "after": _audit_user(after)})
    accounts.forget_cached_tokens()
    return after


def reset_password(p, username: str, *, actor: str, password: str | None = None) -> str:
    """Set a new password (generated when not given) and return it, to be shown once.
    The audit records that it changed, never the password."""
    if password is not None and len(password) < MIN_PASSWORD:
        raise _invalid([_problem("password", f"a password needs at least {MIN_PASSWORD} "
                                             "characters.",
                                 f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.")])
    new = password or accounts.generate_password()
    with p.db.transaction() as session:
        user = _user(session, username)
        accounts.set_password(user, new)
        audit.append(session, actor=actor, action="admin_user_password_reset",
                     detail={"user": username, "before": None, "after": None})
    return new


def import_users(p, data: bytes | str, *, actor: str) -> dict:
    """Upsert users by username from a CSV file (columns :data:`USER_COLUMNS`; ``username``
    and ``full_name`` required; ``roles`` as ``reception@000.00.14.H56;head@…``). All rows
    are checked first; any problem raises :class:`InvalidData` naming line and column and
    writes nothing.

    ``{"rows", "created", "updated", "unchanged", "passwords": [{username, password}]}``:
    the generated one-time passwords of the new users that had none in the file.
    """
    sheet = _read_csv(data, USER_COLUMNS, ("username", "full_name"), what="user")
    problems: list[dict] = []
    cleaned: list[tuple[int, dict]] = []
    seen: dict[str, int] = {}
    with p.db.transaction() as session:
        agencies = {a.code: a for a in _all_agencies(session)}
        roles = set(session.execute(select(Role.code)).scalars())
        existing = {u.username: u for u in session.execute(select(User).where(User.username.in_(
            [cells.get("username", "").strip() for _, cells in sheet.rows]))).scalars()}
        befores = {name: _user_dict(session, u) for name, u in existing.items()}
        for line, cells in sheet.rows:
            name = cells.get("username", "").strip()
            row_problems: list[dict] = []
            clean = _clean_user(cells, row_problems, present=sheet.columns,
                                new=name not in existing)
            before = befores.get(name)
            row_problems += _reference_problems(clean, agencies, roles,
                                                set(before["roles"]) if before else set())
            if before is not None:
                row_problems += _lockout_problems(actor, name, clean, True)
            problems += _row_problems(line, row_problems)
            if name in seen:
                problems.append(_csv_problem(line, "username", f"{name} is already on line "
                                                               f"{seen[name]}.",
                                             f"{name} đã có ở dòng {seen[name]}."))
            seen.setdefault(name, line)
            cleaned.append((line, clean))
        if problems:
            raise _csv_invalid(problems, what="user")
        result = _write_users(session, cleaned, existing, befores, agencies, actor)
    accounts.forget_cached_tokens()  # roles or activity changed: API tokens see it now
    return result


def _write_users(session: Session, cleaned, existing, befores, agencies, actor) -> dict:
    created = updated = unchanged = 0
    passwords = []
    for line, clean in cleaned:
        user = existing.get(clean["username"])
        before = befores.get(clean["username"])
        if user is None:
            if "password" not in clean:
                clean = {**clean, "password": accounts.generate_password()}
                passwords.append({"username": clean["username"], "password": clean["password"]})
            user = User(username=clean["username"], password_hash="", active=True)
            session.add(user)
        _apply_user(session, user, clean, agencies)
        after = _user_dict(session, user)
        if before == after and "password" not in clean:
            unchanged += 1
            continue
        created, updated = created + (before is None), updated + (before is not None)
        audit.append(session, actor=actor,
                     action="admin_user_update" if before else "admin_user_create",
                     detail={"user": user.username, "source": "csv", "line": line,
                             "before": _audit_user(before), "after": _audit_user(after),
                             "password_set": "password" in clean})
    return {"rows": len(cleaned), "created": created, "updated": updated,
            "unchanged": unchanged, "passwords": passwords}


# -- roles -------------------------------------------------------------------------------

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
        new_code = _text(values.get("code"), 40, "code", problems, required=True,
                         label_vi="mã vai trò")
        if new_code and not ROLE_CODE.match(new_code):
            problems.append(_problem("code", "a role code is 2–40 lower-case letters, digits or "
                                             "'_', starting with a letter (it is a lane name).",
                                     "Mã vai trò gồm 2–40 chữ thường không dấu, chữ số hoặc "
                                     "'_', bắt đầu bằng chữ (là tên làn trong sơ đồ)."))
        elif new_code in RESERVED_ROLES:
            problems.append(_problem("code", f"{new_code!r} is reserved for the applicant.",
                                     f"{new_code!r} dành cho người nộp hồ sơ."))
    name_vi = _text(values.get("name_vi"), 255, "name_vi", problems, required=True,
                    label_vi="tên tiếng Việt")
    name_en = _text(values.get("name_en"), 255, "name_en", problems, label_vi="tên tiếng Anh")
    with p.db.transaction() as session:
        role = session.get(Role, code) if code is not None else None
        if code is not None and role is None:
            raise NotFound(f"No role {code!r}.", vi=f"Không có vai trò {code!r}.")
        if code is None and new_code and session.get(Role, new_code) is not None:
            problems.append(_problem("code", f"the role {new_code!r} already exists.",
                                     f"Đã có vai trò {new_code!r}."))
        if problems:
            raise _invalid(problems)
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


# -- calendar ----------------------------------------------------------------------------

def calendar_year(p, year: int, *, lang: str = "vi") -> dict:
    """The year as the engine counts it: the package's holidays (``holidays``, VN; names in
    ``lang``, ``vi`` or ``en``), its make-up working Saturdays, and the administrator's
    overrides.

    ``{"year", "holidays": [{day, name, overridden}], "workdays": [{day, overridden}],
    "overrides": [{day, kind, note}]}``.
    """
    if not 1 <= year <= 9999:
        raise InvalidData(f"{year} is not a year.", vi=f"{year} không phải năm hợp lệ.")
    package = WorkingCalendar()
    names = Vietnam(years=year, language="vi" if lang == "vi" else "en_US")
    with p.db.transaction() as session:
        rows = session.execute(select(CalendarOverride).where(
            CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31))
            .order_by(CalendarOverride.day)).scalars().all()
        overrides = [{"day": r.day, "kind": r.kind, "note": r.note} for r in rows]
    overridden = {o["day"] for o in overrides}
    holidays, workdays = [], []
    day = date(year, 1, 1)
    while day.year == year:
        working = package.is_working_day(day)
        if not working and day.weekday() < 5:
            holidays.append({"day": day, "name": names.get(day) or package.holiday_name(day),
                             "overridden": day in overridden})
        elif working and day.weekday() >= 5:
            workdays.append({"day": day, "overridden": day in overridden})
        day += timedelta(days=1)
    return {"year": year, "holidays": holidays, "workdays": workdays, "overrides": overrides}


def add_override(p, values: Mapping, *, actor: str) -> dict:
    """Add an announced day off (``off``) or make-up working day (``work``).

    The engine reads overrides on every step (:func:`engine.calendar.load_calendar`), so
    deadlines computed afterwards follow at once. An override that changes nothing (a day
    off on a holiday, a working day on a working day) is refused: it would hide a typo.
    """
    problems: list[dict] = []
    raw_day = str(values.get("day") or "").strip()
    day = None
    try:
        day = date.fromisoformat(raw_day)
    except ValueError:
        problems.append(_problem("day", f"{raw_day!r} is not a date (YYYY-MM-DD).",
                                 f"{raw_day!r} không phải ngày hợp lệ (năm-tháng-ngày)."))
    kind = str(values.get("kind") or "").strip()
    if kind not in (OFF, WORK):
        problems.append(_problem("kind", "choose a day off or a working day.",
                                 "Chọn ngày nghỉ hoặc ngày làm việc."))
    note = _text(values.get("note"), 255, "note", problems, label_vi="ghi chú")
    if day is not None and kind in (OFF, WORK):
        working = WorkingCalendar().is_working_day(day)
        if kind == OFF and not working:
            problems.append(_problem("day", f"{day:%d/%m/%Y} is already a day off.",
                                     f"Ngày {day:%d/%m/%Y} vốn đã là ngày nghỉ."))
        elif kind == WORK and working:
            problems.append(_problem("day", f"{day:%d/%m/%Y} is already a working day.",
                                     f"Ngày {day:%d/%m/%Y} vốn đã là ngày làm việc."))
    with p.db.transaction() as session:
        if day is not None and session.get(CalendarOverride, day) is not None:
            problems.append(_problem("day", f"{day:%d/%m/%Y} already has an override: remove it "
                                            "first.",
                                     f"Ngày {day:%d/%m/%Y} đã được điều chỉnh: hãy xóa điều "
                                     "chỉnh cũ trước."))
        if problems:
            raise _invalid(problems)
        session.add(CalendarOverride(day=day, kind=kind, note=note))
        after = {"day": day.isoformat(), "kind": kind, "note": note}
        audit.append(session, actor=actor, action="admin_calendar_add",
                     detail={"day": day.isoformat(), "before": None, "after": after})
        return after


def remove_override(p, day: date, *, actor: str) -> None:
    with p.db.transaction() as session:
        row = session.get(CalendarOverride, day)
        if row is None:
            raise NotFound(f"No override on {day.isoformat()}.",
                           vi=f"Không có điều chỉnh nào vào ngày {day:%d/%m/%Y}.")
        before = {"day": day.isoformat(), "kind": row.kind, "note": row.note}
        session.delete(row)
        audit.append(session, actor=actor, action="admin_calendar_remove",
                     detail={"day": day.isoformat(), "before": before, "after": None})


# -- which agencies receive which procedure ----------------------------------------------

def _mapping_view(session: Session, procedure: Procedure) -> dict:
    mapped = session.execute(select(Agency.code).join(
        ProcedureAgency, ProcedureAgency.agency_id == Agency.id)
        .where(ProcedureAgency.procedure_id == procedure.id).order_by(Agency.code)).scalars()
    return {"code": procedure.code, "name_vi": procedure.name_vi, "name_en": procedure.name_en,
            "agency_code": procedure.agency.code if procedure.agency else "",
            "agency_name": procedure.agency.name_vi if procedure.agency else "",
            "mapped": list(mapped),
            "receiving": [a.code for a in receiving_agencies(session, procedure)]}


def list_procedure_agencies(p) -> list[dict]:
    """Every procedure with its main agency, its mapped agencies and who receives it."""
    with p.db.transaction() as session:
        rows = session.execute(select(Procedure).order_by(Procedure.code)).scalars().all()
        return [_mapping_view(session, r) for r in rows]


def get_procedure_agencies(p, code: str) -> dict:
    with p.db.transaction() as session:
        return _mapping_view(session, _procedure(session, code))


def _procedure(session: Session, code: str) -> Procedure:
    procedure = session.execute(select(Procedure).where(Procedure.code == code)).scalar()
    if procedure is None:
        raise NotFound(f"No procedure {code!r}.", vi=f"Không có thủ tục {code!r}.")
    return procedure


def set_procedure_agencies(p, code: str, *, agency_codes: Iterable[str], main_code: str,
                           actor: str) -> dict:
    """Replace the agencies that receive procedure ``code`` and its main agency.

    Ticking no agency leaves the main agency as the only receiver. A closed agency may stay
    ticked (it receives nothing while closed) but cannot be newly added.
    """
    wanted = sorted({c.strip() for c in agency_codes if c and c.strip()})
    main_code = (main_code or "").strip()
    with p.db.transaction() as session:
        procedure = _procedure(session, code)
        before = _mapping_view(session, procedure)
        agencies = {a.code: a for a in _all_agencies(session)}
        problems = []
        if not main_code:
            problems.append(_problem("main", "choose the main agency.",
                                     "Chọn cơ quan chủ trì giải quyết."))
        elif main_code not in agencies:
            problems.append(_problem("main", f"no agency with code {main_code!r}.",
                                     f"Không có cơ quan mã {main_code!r}."))
        elif not agencies[main_code].active and main_code != before["agency_code"]:
            problems.append(_problem("main", f"agency {main_code} is closed.",
                                     f"Cơ quan {main_code} đã ngừng hoạt động."))
        for item in wanted:
            if item not in agencies:
                problems.append(_problem("agencies", f"no agency with code {item!r}.",
                                         f"Không có cơ quan mã {item!r}."))
            elif not agencies[item].active and item not in before["mapped"]:
                problems.append(_problem("agencies", f"agency {item} is closed.",
                                         f"Cơ quan {item} đã ngừng hoạt động."))
        if problems:
            raise _invalid(problems)
        procedure.agency_id = agencies[main_code].id
        session.execute(delete(ProcedureAgency).where(ProcedureAgency.procedure_id == procedure.id))
        session.add_all(ProcedureAgency(procedure_id=procedure.id, agency_id=agencies[c].id)
                        for c in wanted)
        session.flush()
        session.expire(procedure)
        after = _mapping_view(session, procedure)
        audit.append(session, actor=actor, action="admin_procedure_agencies",
                     detail={"procedure": code, "before": before, "after": after})
        return after
