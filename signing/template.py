"""Fill the ``{placeholder}`` templates of procedure bundles without ever failing.

Bundle YAML is data written by analysts in a browser, so templates are untrusted. The
syntax is that of ``str.format_map`` (``{key}``, ``{application[company_name]}``,
``{fee:,}``), but fields are looked up as keys only: ``{a.b}`` means ``{a[b]}`` and no
Python attribute is ever read, so ``{x.__class__.__init__.__globals__}`` cannot leak
anything (plain ``format_map`` would follow it). Unknown keys stay visible as ``{key}``,
a template that is not a valid format string is returned as written, and every result is
NFC-normalised. A date, a moment or an ISO 8601 date string filled without a format
spec is written ``dd/mm/yyyy`` (``{issued_on}`` → 06/12/2026).
"""

from __future__ import annotations

import _string  # CPython's parser of "a[b].c" field names, as str.format uses
import datetime as dt
import re
import string
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

_MISSING = object()
_HUGE_NUMBER = re.compile(r"\d{4,}")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
#: Documents are read in Vietnam: a moment is written as its day there (UTC+7, no DST).
VIETNAM = dt.timezone(dt.timedelta(hours=7))


def as_day(value: Any) -> str | None:
    """A date, a datetime or an ISO 8601 date/moment string as ``dd/mm/yyyy`` (the day in
    Vietnam for a moment with a time zone); None for anything else."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if _ISO_DAY.fullmatch(text):
                value = dt.date.fromisoformat(text)
            elif _ISO_MOMENT.fullmatch(text):
                value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            else:
                return None
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        value = (value.astimezone(VIETNAM) if value.tzinfo else value).date()
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return None


def nfc(text: Any) -> str:
    """Return ``str(text)`` in Unicode normal form C (precomposed Vietnamese letters)."""
    return unicodedata.normalize("NFC", "" if text is None else str(text))


class _Placeholder:
    """Stands for an absent value; formats back to its own placeholder text."""

    def __init__(self, field_name: str) -> None:
        self.field_name = field_name

    def __format__(self, spec: str) -> str:
        return "{" + self.field_name + (":" + spec if spec else "") + "}"


def _child(value: Any, key: Any) -> Any:
    """Return ``value[key]`` for mappings and sequences, or ``_MISSING``."""
    if isinstance(key, str) and key.startswith("_"):
        return _MISSING
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        if isinstance(key, int) and str(key) in value:
            return value[str(key)]
        return _MISSING
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        try:
            return value[int(key)]
        except (ValueError, IndexError, TypeError):
            return _MISSING
    return _MISSING


def _lookup(context: Mapping[str, Any], first: Any, keys) -> Any:
    """``context[first][key]…`` by :func:`_child` for each of ``keys``, or ``_MISSING``."""
    value = _child(context, first)
    for key in keys:
        if value is _MISSING:
            break
        value = _child(value, key)
    return value


class _SafeFormatter(string.Formatter):
    """A formatter that resolves fields by key lookup only."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]):
        first, rest = _string.formatter_field_name_split(field_name)
        value = _lookup(kwargs, first, [key for _is_attr, key in rest])
        if value is _MISSING:
            return _Placeholder(field_name), first
        return value, first

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, _Placeholder):
            return value.__format__(format_spec)
        if _HUGE_NUMBER.search(format_spec):  # "{x:>999999999}" would build a huge string
            raise ValueError(f"format spec too wide: {format_spec!r}")
        if not format_spec:  # dates as Vietnamese documents write them: 25/12/2026
            day = as_day(value)
            if day is not None:
                return day
        return super().format_field(value, format_spec)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if isinstance(value, _Placeholder):
            return value
        return super().convert_field(value, conversion)


_FORMATTER = _SafeFormatter()
_FILL_ERRORS = (ValueError, TypeError, AttributeError, IndexError, KeyError)


def _parsed(text: str) -> tuple | None:
    """``text`` as ``(literal, field name, its first key, its further keys, conversion,
    format spec)`` parts, or None when only the formatter's own walk gives its result:
    a template it cannot parse, a field by position (``{}``, ``{0}``), a malformed field
    name, or a format spec with fields of its own. The walk over these parts
    (:func:`fill`) makes the formatter's calls in the formatter's order."""
    parts = []
    try:
        for literal, name, spec, conversion in _FORMATTER.parse(text):
            if name is None:
                parts.append((literal, None, None, (), None, None))
                continue
            if name == "" or name.isdigit() or "{" in spec or "}" in spec:
                return None
            first, rest = _string.formatter_field_name_split(name)
            parts.append((literal, name, first, tuple(key for _is_attr, key in rest),
                          conversion, spec))
    except ValueError:
        return None
    return tuple(parts)


#: Templates by their text, parsed (:func:`_parsed`): a bundle's few templates are filled
#: again and again. Bounded, since a caller might fill texts of its own.
_PARSED: dict[str, tuple | None] = {}
_PARSED_MAX = 4096


def fill(template: Any, context: Mapping[str, Any]) -> str:
    """Return ``template`` with ``{placeholders}`` filled from ``context``, NFC-normalised.

    Never raises: unknown keys are left visible as ``{key}``; an invalid template (stray
    brace, format spec that does not suit the value) is returned unformatted.
    """
    text = nfc(template)
    try:
        parts = _PARSED[text]
    except KeyError:
        parts = _parsed(text)
        if len(_PARSED) < _PARSED_MAX:
            _PARSED[text] = parts
    try:
        if parts is None:
            return nfc(_FORMATTER.vformat(text, (), context))
        out = []
        for literal, name, first, keys, conversion, spec in parts:
            if literal:
                out.append(literal)
            if name is None:
                continue
            value = _lookup(context, first, keys)
            if value is _MISSING:
                out.append(_Placeholder(name).__format__(spec))
            elif type(value) is str and not spec and conversion is None \
                    and not value[:1].isdigit() and not value[:1].isspace():
                out.append(value)  # text that is no date: the formatter gives it as it is
            else:
                out.append(_FORMATTER.format_field(
                    _FORMATTER.convert_field(value, conversion), spec))
        return nfc("".join(out))
    except _FILL_ERRORS:
        return text
