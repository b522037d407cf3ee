"""The value conversions of the statements run on the driver (:mod:`engine.step.driver`), each
one function where SQLAlchemy's processors are several.

SQLAlchemy converts a value through a chain of closures: a ``UTCDateTime`` on SQLite goes
through the type decorator's wrapper, :meth:`~engine.columns.UTCDateTime.process_bind_param`
(``astimezone``, then ``replace``) and SQLite's ``DATETIME`` formatter (a ``%`` of a dict
of seven fields), and back through ``fromisoformat``, the wrapper again and a ``replace``.
For the few dozen values of a step that is a measurable part of its client time. The
functions here give the same values in fewer calls for the values a step sends (aware
datetimes, dicts and lists, booleans) and, on SQLite, reads back (the storage format's
datetime strings, JSON text); every other value goes to SQLAlchemy's own processor (the
*reference*), so what they do not know they cannot get wrong: ``None``, naive datetimes
(refused with the reference's error), subclasses, unexpected strings. psycopg returns
aware datetimes and parsed JSON itself: its rows keep SQLAlchemy's processors, which a
fused function did not beat (``astimezone`` is their cost).

Only types whose reference is known are fused (:func:`bind`, :func:`result`); for any other
the reference itself is used. tests/engine/step/test_convert.py checks every fused function
against the reference on both dialects.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from ..columns import UTCDateTime

Convert = Callable[[object], object]

#: SQLite's ``DATETIME`` storage format (SQLAlchemy's default), by position.
_SQLITE_DATETIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def bind(type_: TypeEngine, dialect: Dialect, reference: Convert) -> Convert:
    """The conversion of a value of ``type_`` sent to ``dialect``'s driver: SQLAlchemy's
    bind processor ``reference``, or a function that gives the same values faster."""
    impl = type_.dialect_impl(dialect)
    sqlite, psycopg = dialect.name == "sqlite", dialect.driver == "psycopg"
    if type(impl) is UTCDateTime and (sqlite or psycopg):
        return (_utc_to_sqlite if sqlite else _utc_to_aware)(reference)
    if _is_plain_json(impl, dialect) and sqlite:
        serializer = dialect._json_serializer or json.dumps
        # json.dumps with no options is exactly its default encoder's encode.
        return _json_to(json._default_encoder.encode if serializer is json.dumps
                        else serializer, reference)
    if _is_plain_json(impl, dialect) and psycopg:
        return _json_to(dialect._psycopg_Json, reference)
    if type(impl) is Boolean:
        coerce = bool if dialect.supports_native_boolean else int
        return _boolean(coerce(True), coerce(False), reference)
    return reference


def result(type_: TypeEngine, dialect: Dialect, reference: Convert) -> Convert:
    """The conversion of a value of ``type_`` as ``dialect``'s driver returns it: SQLAlchemy's
    result processor ``reference``, or a function that gives the same values faster."""
    if dialect.name != "sqlite":  # psycopg parses JSON and makes datetimes itself
        return reference
    impl = type_.dialect_impl(dialect)
    if type(impl) is UTCDateTime:
        return _utc_from_sqlite(reference)
    if _is_plain_json(impl, dialect):
        return _json_from(dialect._json_deserializer or json.loads, reference)
    return reference


def _is_plain_json(impl: TypeEngine, dialect: Dialect) -> bool:
    """``impl`` is the dialect's own form of a plain ``JSON`` (no subclass of ours, None
    stored as JSON ``null``)."""
    return type(impl) is type(JSON().dialect_impl(dialect)) and not impl.none_as_null


def _utc_to_sqlite(reference: Convert) -> Convert:
    """An aware datetime as SQLite's ``DATETIME`` stores it: its UTC time in
    ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    def convert(value):
        if type(value) is datetime and value.tzinfo is not None:
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return _SQLITE_DATETIME % (value.year, value.month, value.day, value.hour,
                                       value.minute, value.second, value.microsecond)
        return reference(value)
    return convert


def _utc_from_sqlite(reference: Convert) -> Convert:
    """The aware UTC datetime of SQLite's ``DATETIME`` string: the storage format's strings
    parsed with their zone (``fromisoformat`` then ``replace`` costs several times as much)."""
    def convert(value):
        if type(value) is str and len(value) == 26 and value[19] == ".":
            try:
                return datetime.fromisoformat(value + "+00:00")
            except ValueError:
                pass
        elif value is None:
            return None
        return reference(value)
    return convert


def _utc_to_aware(reference: Convert) -> Convert:
    """An aware datetime in UTC, for a driver that takes aware datetimes (psycopg)."""
    def convert(value):
        if type(value) is datetime and value.tzinfo is not None:
            return value if value.tzinfo is UTC else value.astimezone(UTC)
        return reference(value)
    return convert


def _json_to(serialize: Callable, reference: Convert) -> Convert:
    """A dict or list serialized as the dialect serializes JSON."""
    def convert(value):
        if type(value) is dict or type(value) is list:
            return serialize(value)
        return reference(value)
    return convert


def _json_from(deserialize: Callable, reference: Convert) -> Convert:
    """A JSON text parsed as the dialect parses it."""
    def convert(value):
        if type(value) is str:
            return deserialize(value)
        if value is None:
            return None
        return reference(value)
    return convert


def _boolean(true: object, false: object, reference: Convert) -> Convert:
    """A boolean as the driver takes it."""
    def convert(value):
        if value is True:
            return true
        if value is False:
            return false
        return reference(value)
    return convert
