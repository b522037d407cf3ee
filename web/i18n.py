"""Languages and the way things are written on the pages.

Vietnamese is the source language of every string and the default; English is the
second language. The locale comes from ``?lang=`` (remembered in the session), then the
session, then the browser's ``Accept-Language``. Times are shown in Vietnam's time zone
as ``dd/mm/yyyy HH:MM`` whatever the language.

Catalogue upkeep (from the repository root, with the venv's Babel)::

    pybabel extract -F web/babel.cfg -k lazy_gettext -k term:2 -o /tmp/messages.pot \
        web engine/vocabulary.py
    pybabel update -i /tmp/messages.pot -d web/translations
    pybabel compile -d web/translations

The compiled ``messages.mo`` is committed, so installing needs no build step. The
domain's words (statuses, audit actions, ...) are defined once, in
:mod:`engine.vocabulary`: their Vietnamese labels are msgids of this catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Flask, g, request, session
from flask_babel import Babel, format_decimal, get_locale, lazy_gettext, ngettext
from flask_babel import gettext as _

from engine import accounts, clock
from engine.vocabulary import AuditAction, Channel, Status, TaskState, Term

LANGUAGES = ("vi", "en")
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}

babel = Babel()

ONLINE_LABELS = {
    "toàn trình": lazy_gettext("toàn trình"),
    "một phần": lazy_gettext("một phần"),
}


def select_locale() -> str:
    """``?lang=`` (and remember it: in the session, and on a signed-in account, whose
    e-mails then come in that language), else the session's choice, else the browser's."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        user = getattr(g, "user", None)
        if user is not None and getattr(user, "language", asked) != asked:
            from . import platform

            accounts.set_language(platform(), user.id, asked)
        return asked
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def current_lang() -> str:
    """The language code of the current request (``vi`` or ``en``)."""
    locale = get_locale()
    return locale.language if locale is not None else LANGUAGES[0]


def lang_switch_url(lang: str) -> str:
    """The current page in another language (its other query parameters kept)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return request.path + "?" + urlencode(args + [("lang", lang)])


# -- values -----------------------------------------------------------------------------

def _moment(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:  # the engine's views are UTC
            value = value.replace(tzinfo=UTC)
        return value.astimezone(clock.VIETNAM)
    return None


def format_moment(value: Any) -> str:
    """An ISO 8601 string or datetime as ``dd/mm/yyyy HH:MM`` in Vietnam (empty if None)."""
    moment = _moment(value)
    return moment.strftime("%d/%m/%Y %H:%M") if moment else ""


def format_day(value: Any) -> str:
    """A moment or a date as ``dd/mm/yyyy`` (the day in Vietnam)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, str) and len(value) == 10:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    moment = _moment(value)
    return moment.strftime("%d/%m/%Y") if moment else ""


def due_state(value: Any) -> str:
    """``overdue``, ``today`` or ``""`` for a due moment, seen from Vietnam now."""
    moment = _moment(value)
    if moment is None:
        return ""
    now = clock.local_now()
    if moment < now:
        return "overdue"
    return "today" if moment.date() == now.date() else ""


def localized(value: Any) -> str:
    """Text in the current language from ``{vi, en}``, a record with ``name_vi`` /
    ``name_en``, or plain text."""
    lang = current_lang()
    if isinstance(value, Mapping):
        for key in (lang, f"name_{lang}", "vi", "name_vi", "name"):
            if value.get(key):
                return str(value[key])
        return ""
    return "" if value is None else str(value)


def term_label(vocabulary: type[Term], value: Any) -> str:
    """A stored value of one of :mod:`engine.vocabulary`'s terms as words in the reader's
    language (an unknown value shown as it is)."""
    try:
        return _(vocabulary(value).vi)
    except ValueError:
        return "" if value is None else str(value)


def error_message(error: Any) -> str:
    """An engine error's (or :class:`web.errors.ApiError`'s) message in the reader's
    language: its ``vi`` text or its English ``message``."""
    return error.vi if current_lang() == "vi" else error.message


def status_label(status: str | None) -> str:
    """A dossier status as words."""
    return term_label(Status, status)


def action_label(action: str | None) -> str:
    """An audit event's action as words (the dossier's history)."""
    return term_label(AuditAction, action)


def channel_label(channel: str | None) -> str:
    """How a dossier arrived, as words."""
    return term_label(Channel, channel)


def task_state_label(state: str | None) -> str:
    """A step's state as words."""
    return term_label(TaskState, state)


def deadline_label(deadline: Any) -> str:
    """``{value: 5, unit: working_days}`` as "5 ngày làm việc"; with ``online: 2``, "3 ngày
    làm việc (2 ngày làm việc nếu nộp trực tuyến)"."""
    if not isinstance(deadline, Mapping):
        return "" if deadline is None else str(deadline)
    label = _deadline_amount(deadline.get("value", 0), deadline.get("unit", ""))
    online = deadline.get("online")
    if online is not None and online != deadline.get("value"):
        label = _("%(deadline)s (%(online)s nếu nộp trực tuyến)", deadline=label,
                  online=_deadline_amount(online, deadline.get("unit", "")))
    return label


def _deadline_amount(n: Any, unit: str) -> str:
    if unit == "working_days":
        return ngettext("%(num)s ngày làm việc", "%(num)s ngày làm việc", n)
    if unit == "days":
        return ngettext("%(num)s ngày", "%(num)s ngày", n)
    if unit == "hours":
        return ngettext("%(num)s giờ", "%(num)s giờ", n)
    if unit == "months":
        return ngettext("%(num)s tháng", "%(num)s tháng", n)
    return f"{n} {unit}"


def level_label(procedure: Mapping) -> str:
    """Decree 43 level with the Decree 42 label: "Mức độ 4 – toàn trình"."""
    online = procedure.get("online_label") or ""
    online = str(ONLINE_LABELS.get(online, online))
    level = procedure.get("level")
    if level and online:
        return _("Mức độ %(level)s – %(label)s", level=level, label=online)
    return _("Mức độ %(level)s", level=level) if level else online


def fee_label(fee: Any) -> str:
    """The fee in words: "Không thu phí", "50.000 đồng", with its note in this language."""
    if not isinstance(fee, Mapping):
        fee = {"amount": fee} if isinstance(fee, (int, float)) else {"note": fee}
    parts = []
    amount = fee.get("amount")
    unconfirmed = fee.get("confirmed") is False
    if unconfirmed:
        # An unconfirmed amount (often a placeholder 0) must not read as "free".
        parts.append(_("Chưa xác nhận mức phí."))
    elif amount == 0:
        parts.append(_("Không thu phí."))
    elif amount is not None:
        parts.append(_("%(amount)s đồng.", amount=format_decimal(amount)))
    note = localized(fee.get("note"))
    if note:
        parts = [note] if unconfirmed else [*parts, note]
    return " ".join(parts)


def file_size(size: Any) -> str:
    """Bytes as KB / MB for people."""
    if not isinstance(size, (int, float)):
        return ""
    if size >= 1024 * 1024:
        return f"{format_decimal(round(size / (1024 * 1024), 1))} MB"
    return f"{format_decimal(max(1, round(size / 1024)))} KB"


def init_app(app: Flask) -> None:
    """Flask-Babel with the selector above, and the helpers every template uses."""
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters.update(
        moment=format_moment, day=format_day, due_state=due_state, localized=localized,
        status=status_label, action=action_label, channel=channel_label,
        task_state=task_state_label, deadline=deadline_label, fee=fee_label, file_size=file_size)
    app.jinja_env.globals.update(level_label=level_label, lang_switch_url=lang_switch_url,
                                 LANGUAGES=LANGUAGES, LANGUAGE_NAMES=LANGUAGE_NAMES)

    @app.context_processor
    def _page_context() -> dict:
        # gettext and _ come from Jinja's i18n extension, installed by Flask-Babel.
        return {"current_user": g.get("user"), "lang": current_lang(),
                "status_label": status_label}
