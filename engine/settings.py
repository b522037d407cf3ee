"""Values an administrator sets at run time (cài đặt hệ thống), kept as rows.

Rules that are facts of a province's practice rather than of the code live here, each with
its built-in default, checked when it is set:

| key | default | meaning |
|---|---|---|
| ``close_of_day`` | ``17:00`` | when an appointment day ends (the time on every appointment) |
| ``afternoon_cutoff`` | ``17:00`` | a dossier received at or after it counts as received on the next working day |
| ``form_set`` | empty | the form set (:mod:`engine.formsets`) every new dossier takes; empty: by the date received |
| ``form_set_from:<code>`` | the set's ``applies_from`` | the date from which form set ``<code>`` applies |

Nothing here is read on a hot path more than once a step: :func:`values` is one small query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, clock, formsets
from .errors import InvalidData
from .models import PlatformSetting

DEFAULTS = {"close_of_day": "17:00", "afternoon_cutoff": "17:00", "form_set": ""}
FORM_SET_FROM = formsets.FORM_SET_FROM
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
LABELS = {
    "close_of_day": ("Giờ kết thúc ngày làm việc (giờ hẹn trả kết quả)",
                     "Close of the working day (the time of every appointment)"),
    "afternoon_cutoff": ("Giờ chốt nhận hồ sơ buổi chiều (nhận từ giờ này tính sang ngày "
                         "làm việc sau)",
                         "Afternoon cut-off (dossiers received from this time count from the "
                         "next working day)"),
    "form_set": ("Bộ biểu mẫu áp dụng cho hồ sơ mới (để trống: theo ngày tiếp nhận)",
                 "Form set for new dossiers (empty: by the date received)"),
}


def values(session: Session) -> dict[str, str]:
    """Every setting: the stored ones over the defaults."""
    return with_defaults(dict(session.connection().execute(_STORED).all()))


def with_defaults(stored: Mapping[str, str]) -> dict[str, str]:
    """Every setting: ``stored`` (the rows) over the defaults."""
    return {**DEFAULTS, **stored}


# Built once, read on the connection (no autoflush: settings are written by set_value,
# which flushes its change).
_STORED = select(PlatformSetting.key, PlatformSetting.value)


def parse_time(text: str, key: str = "time") -> time:
    """``HH:MM`` as a time, or InvalidData naming the setting."""
    match = _TIME.match(str(text or "").strip())
    if not match:
        raise _invalid(key, f"{key} must be a time of day as HH:MM (e.g. 17:00), not {text!r}.",
                       f"Giờ phải có dạng GG:PP (ví dụ 17:00), không phải {text!r}.")
    return time(int(match.group(1)), int(match.group(2)))


#: The settings the working calendar counts with.
DAY_TIMES = ("close_of_day", "afternoon_cutoff")


def day_times(session: Session) -> tuple[time, time]:
    """``(close_of_day, afternoon_cutoff)`` as the calendar counts with them."""
    return day_times_of(values(session))


def day_times_of(stored: Mapping[str, str]) -> tuple[time, time]:
    """:func:`day_times` from stored settings (missing ones are the defaults)."""
    current = {**DEFAULTS, **stored}
    return (parse_time(current["close_of_day"], "close_of_day"),
            parse_time(current["afternoon_cutoff"], "afternoon_cutoff"))


def set_value(session: Session, key: str, value: str, *, actor: str) -> str:
    """Check and store one setting (audited); an empty value restores the default.
    InvalidData for an unknown key or a bad value."""
    value = str(value or "").strip()
    if key in ("close_of_day", "afternoon_cutoff"):
        value = (parse_time(value, key) if value else parse_time(DEFAULTS[key])).strftime("%H:%M")
    elif key == "form_set":
        if value and value not in formsets.available():
            raise _invalid(key, f"Unknown form set {value!r} (known: "
                                f"{', '.join(formsets.available())}).",
                           f"Không có bộ biểu mẫu {value!r} (hiện có: "
                           f"{', '.join(formsets.available())}).")
    elif key.startswith(FORM_SET_FROM):
        code = key[len(FORM_SET_FROM):]
        if code not in formsets.available():
            raise _invalid(key, f"Unknown form set {code!r}.", f"Không có bộ biểu mẫu {code!r}.")
        if value:
            try:
                value = date.fromisoformat(value).isoformat()
            except ValueError:
                raise _invalid(key, f"The date must be YYYY-MM-DD, not {value!r}.",
                               f"Ngày phải có dạng NNNN-TT-NN, không phải {value!r}.") from None
    else:
        raise _invalid(key, f"Unknown setting {key!r}.", f"Không có cài đặt {key!r}.")
    row = session.get(PlatformSetting, key)
    before = row.value if row is not None else None
    if not value and key not in DEFAULTS or value == DEFAULTS.get(key):
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(PlatformSetting(key=key, value=value, updated_at=clock.now(),
                                    updated_by=actor))
    else:
        row.value, row.updated_at, row.updated_by = value, clock.now(), actor
    audit.append(session, actor=actor, action="setting_changed",
                 detail={"key": key, "from": before, "to": value})
    session.flush()
    return value


def view(p) -> dict:
    """What the administrator's settings page shows: every value, and the form sets with
    the dates they apply from (the administrator's, else the set's own)."""
    with p.db.read() as session:
        current = values(session)
    sets = [{"code": s.code, "name_vi": s.name_vi, "name_en": s.name_en,
             "legal_basis": s.legal_basis, "applies_from": s.applies_from.isoformat(),
             "moved_from": current.get(FORM_SET_FROM + s.code, ""),
             "forms": [{"meaning": f.meaning, "number": f.number, "title": f.title}
                       for f in s.forms.values()]}
            for s in formsets.available().values()]
    return {"values": current, "form_sets": sets}


def update(p, submitted: dict, *, actor: str) -> dict:
    """Set several settings at once (the settings page): all of them or, when one is
    wrong, none (InvalidData naming each wrong field)."""
    problems: list[dict] = []
    with p.db.transaction() as session:
        for key, value in submitted.items():
            try:
                set_value(session, key, value, actor=actor)
            except InvalidData as exc:
                problems += exc.details or []
        if problems:
            raise InvalidData("Some settings are not valid; nothing was changed.",
                              vi="Có cài đặt không hợp lệ; chưa thay đổi gì.", details=problems)
        return values(session)


def _invalid(key: str, message: str, vi: str) -> InvalidData:
    return InvalidData(message, vi=vi, details=[{"field": key, "message": message,
                                                 "message_vi": vi}])


__all__ = ["DEFAULTS", "LABELS", "values", "day_times", "set_value", "parse_time", "view",
           "update"]
