"""CSV imports of agencies and users: the whole file checked first, all or nothing."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import accounts, audit
from ..errors import InvalidData
from ..models import Agency, Role, User
from .agencies import (
    AGENCY_COLUMNS,
    agency_dict,
    all_agencies,
    apply_agency,
    clean_agency,
    parent_problems,
)
from .users import (
    USER_COLUMNS,
    apply_user,
    audit_user,
    clean_user,
    lockout_problems,
    reference_problems,
    user_dict,
)


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


def _csv_text(data: bytes | str, *, what: str) -> str:
    """The file as text: UTF-8, with or without Excel's BOM."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _csv_invalid([_csv_problem(
                1, "", "the file is not UTF-8 text: save it as “CSV UTF-8”.",
                "tệp không phải văn bản UTF-8: hãy lưu dưới dạng “CSV UTF-8”.")], what=what) from None
    return data.lstrip("\ufeff")


def _delimiter(header_line: str) -> str:
    """A comma, or a semicolon or tab when the header has no comma (Excel in some locales)."""
    return "," if "," in header_line else (";" if ";" in header_line
                                           else ("\t" if "\t" in header_line else ","))


def _header_problems(names: list[str], columns: tuple[str, ...],
                     required: tuple[str, ...]) -> list[dict]:
    """Unknown, missing required and repeated columns of the header."""
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
    return problems


def _csv_rows(reader, names: list[str], problems: list[dict]) -> list[tuple[int, dict]]:
    """``(line, {column: cell})`` for each non-blank row under the header; a row of the
    wrong width, or unreadable CSV, is added to ``problems``."""
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
    return rows


def _read_csv(data: bytes | str, columns: tuple[str, ...], required: tuple[str, ...], *,
              what: str) -> _Sheet:
    """The file's header and rows. UTF-8 (with or without Excel's BOM); the delimiter is a
    comma, or a semicolon or tab when the header has no comma (Excel in some locales)."""
    text = _csv_text(data, what=what)
    reader = csv.reader(io.StringIO(text, newline=""),
                        delimiter=_delimiter(text.split("\n", 1)[0]))
    try:
        header = next(reader)
    except StopIteration:
        raise _csv_invalid([_csv_problem(1, "", "the file is empty.", "tệp rỗng.")],
                           what=what) from None
    names = [unicodedata.normalize("NFC", h).strip().lower() for h in header]
    problems = _header_problems(names, columns, required)
    if problems:
        raise _csv_invalid(problems, what=what)
    rows = _csv_rows(reader, names, problems)
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
        clean = clean_agency(cells, row_problems, present=sheet.columns)
        problems += _row_problems(line, row_problems)
        code = clean.get("code", "")
        if code in seen:
            problems.append(_csv_problem(line, "code", f"{code} is already on line {seen[code]}.",
                                         f"mã {code} đã có ở dòng {seen[code]}."))
        seen.setdefault(code, line)
        cleaned.append((line, clean))
    with p.db.transaction() as session:
        agencies = all_agencies(session)
        codes = {a.id: a.code for a in agencies}
        by_code = {a.code: a for a in agencies}
        parents = {a.code: codes.get(a.parent_id, "") for a in agencies}
        for _, clean in cleaned:
            if "parent_code" in clean and clean.get("code"):
                parents[clean["code"]] = clean["parent_code"]
        known = set(by_code) | {c["code"] for _, c in cleaned if c.get("code")}
        for line, clean in cleaned:
            if clean.get("code") and "parent_code" in clean:
                problems += _row_problems(line, parent_problems(
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
        before = None if new else agency_dict(agency, codes)
        apply_agency(agency, clean, by_code)
        after = agency_dict(agency, codes)
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
        agencies = {a.code: a for a in all_agencies(session)}
        roles = set(session.execute(select(Role.code)).scalars())
        existing = {u.username: u for u in session.execute(select(User).where(User.username.in_(
            [cells.get("username", "").strip() for _, cells in sheet.rows]))).scalars()}
        befores = {name: user_dict(session, u) for name, u in existing.items()}
        for line, cells in sheet.rows:
            name = cells.get("username", "").strip()
            row_problems: list[dict] = []
            clean = clean_user(cells, row_problems, present=sheet.columns,
                               new=name not in existing)
            before = befores.get(name)
            row_problems += reference_problems(clean, agencies, roles,
                                               set(before["roles"]) if before else set())
            if before is not None:
                row_problems += lockout_problems(actor, name, clean, True)
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
        apply_user(session, user, clean, agencies)
        after = user_dict(session, user)
        if before == after and "password" not in clean:
            unchanged += 1
            continue
        created, updated = created + (before is None), updated + (before is not None)
        audit.append(session, actor=actor,
                     action="admin_user_update" if before else "admin_user_create",
                     detail={"user": user.username, "source": "csv", "line": line,
                             "before": audit_user(before), "after": audit_user(after),
                             "password_set": "password" in clean})
    return {"rows": len(cleaned), "created": created, "updated": updated,
            "unchanged": unchanged, "passwords": passwords}
