"""engine.step.convert: every fused conversion gives what SQLAlchemy's processors give — the
same values to the driver, the same Python values back, the same errors — on SQLite and on
PostgreSQL (psycopg)."""

from __future__ import annotations

import json
import math
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import JSON, Boolean, Integer, LargeBinary, String, create_engine, null

from engine.columns import UTCDateTime
from engine.step import convert

DIALECTS = {"sqlite": create_engine("sqlite://").dialect,
            "postgresql": create_engine("postgresql+psycopg://").dialect}
ZONES = [UTC, ZoneInfo("Asia/Ho_Chi_Minh"), ZoneInfo("America/New_York"),
         ZoneInfo("Europe/London"), ZoneInfo("Australia/Lord_Howe"),
         timezone(timedelta(hours=-3, minutes=-30)), timezone(timedelta(hours=14)),
         timezone(timedelta(0))]
WALL_TIMES = [
    datetime(2026, 12, 7, 1, 30), datetime(2026, 12, 7, 1, 30, 0, 123456),
    datetime(2026, 12, 7, 1, 30, 0, 1), datetime(2026, 3, 8, 2, 30),  # New York's gap
    datetime(2026, 11, 1, 1, 30), datetime(2026, 11, 1, 1, 30, fold=1),  # its overlap
    datetime(2026, 3, 29, 1, 30, 0, 999999), datetime(2026, 10, 25, 1, 0),  # London's
    datetime(2024, 2, 29, 23, 59, 59, 999999), datetime(2100, 2, 28, 12),
    datetime(1900, 1, 1), datetime(1899, 12, 31, 23, 59, 59), datetime(1970, 1, 1),
    datetime(1, 1, 2, 0, 0, 0, 5), datetime(999, 12, 31, 13), datetime(9999, 12, 30, 23),
    datetime(9999, 12, 31, 23, 59, 59, 999999), datetime(1, 1, 1),  # out of range elsewhere
]
AWARE = [moment.replace(tzinfo=zone) for moment in WALL_TIMES for zone in ZONES]


class Moment(datetime):
    """A datetime subclass (a frozen clock's, say): the fused functions must not assume
    its methods are datetime's."""

    def isoformat(self, *args, **kw):
        return "not the base class's"


NAME = "Nguyễn Thị Hồng Nhung — Hợp tác xã vận tải Đồng Tháp"
DOCUMENTS = [
    {}, [], {"a": 1}, [1, 2, 3],
    {"applicant": unicodedata.normalize("NFC", NAME), "decomposed": unicodedata.normalize(
        "NFD", NAME), "vehicles": [{"plate": "66B-012.34", "seats": 45, "weight": 12.5}]},
    {"floats": [0.1, 1e300, -0.0, 1.5, 2.0 ** 60, 5e-324, math.pi], "ints": [0, -1, 2 ** 70]},
    {"nested": {"deeper": {"deepest": [None, True, False, "", {"x": [[]]}]}}},
    {"none": None, "list": [None], "emoji": "🚌", "quote": "\"\\/\n\t\u2028"},
    {"1": "numeric key", "": "empty key"}, [{"a": {"b": [1.0, "c"]}}],
]
ODD_JSON = [None, JSON.NULL, null(), "text", "Đ", 0, 1.5, True, float("nan"), float("inf")]
UNSERIALIZABLE = [{"when": datetime(2026, 1, 1)}, {1, 2}, {(1, 2): 3}, b"bytes"]


def _processors(type_, dialect_name):
    dialect = DIALECTS[dialect_name]
    impl = type_.dialect_impl(dialect)
    return dialect, impl.bind_processor(dialect), impl.result_processor(dialect, None)


def _outcome(function, value):
    """What ``function`` makes of ``value``: its result, or its error's type and text."""
    try:
        return "value", function(value)
    except Exception as error:  # noqa: BLE001 — the error itself is compared
        return "error", (type(error), str(error))


def assert_same_value(got, expected, context=None) -> None:
    """Equal values of the same type (datetimes: the same zone object and fold; psycopg's
    JSON wrappers: the same object and dumps)."""
    assert type(got) is type(expected), (context, got, expected)
    if isinstance(expected, datetime):
        assert (got, got.tzinfo, got.fold) == (expected, expected.tzinfo, expected.fold), context
        assert got.isoformat() == expected.isoformat(), context
    elif hasattr(expected, "obj"):  # psycopg's Json: serialized by the driver
        assert (got.obj is expected.obj, got.dumps) == (True, expected.dumps), context
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got), context
    else:
        assert got == expected, (context, got, expected)


def assert_same(fast, reference, values) -> None:
    """``fast`` and ``reference`` give the same value (:func:`assert_same_value`) or the same
    error for every one of ``values``."""
    for value in values:
        got, expected = _outcome(fast, value), _outcome(reference, value)
        assert got[0] == expected[0], (value, got, expected)
        assert_same_value(got[1], expected[1], value)


@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_known_types_are_fused_and_others_keep_sqlalchemys_processor(dialect_name):
    for type_ in (UTCDateTime(), JSON(), Boolean()):
        dialect, to_driver, _ = _processors(type_, dialect_name)
        assert convert.bind(type_, dialect, to_driver) is not to_driver, type_
    for type_ in (UTCDateTime(), JSON()):  # psycopg's values need no help
        dialect, _, from_driver = _processors(type_, dialect_name)
        fused = convert.result(type_, dialect, from_driver)
        assert (fused is not from_driver) == (dialect_name == "sqlite"), type_
    for type_ in (JSON(none_as_null=True), String(), LargeBinary(), Integer()):
        dialect, to_driver, from_driver = _processors(type_, dialect_name)
        assert convert.bind(type_, dialect, to_driver) is to_driver
        assert convert.result(type_, dialect, from_driver) is from_driver


@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_datetimes_go_to_the_driver_as_sqlalchemy_sends_them(dialect_name):
    dialect, reference, _ = _processors(UTCDateTime(), dialect_name)
    fast = convert.bind(UTCDateTime(), dialect, reference)
    others = [None, *WALL_TIMES, date(2026, 1, 1), "2026-01-01 00:00:00", 0,
              Moment(2026, 1, 1, tzinfo=UTC), Moment(2026, 1, 1)]
    assert_same(fast, reference, AWARE + others)


@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_a_naive_datetime_is_refused_with_sqlalchemys_error(dialect_name):
    dialect, reference, _ = _processors(UTCDateTime(), dialect_name)
    fast = convert.bind(UTCDateTime(), dialect, reference)
    with pytest.raises(ValueError, match="naive datetime given to a UTC column"):
        fast(datetime(2026, 1, 1))


def test_sqlite_datetime_strings_come_back_as_sqlalchemy_reads_them():
    dialect, to_driver, reference = _processors(UTCDateTime(), "sqlite")
    fast = convert.result(UTCDateTime(), dialect, reference)
    stored = [to_driver(moment) for moment in AWARE if _outcome(to_driver, moment)[0] == "value"]
    assert len(stored) > len(WALL_TIMES)
    odd = ["2026-12-07 01:30:00", "2026-12-07T01:30:00.123456", "2026-12-07 01:30:00.1+0700",
           "2026-12-07 01:30:00.12345Z", "2026-12-07 01:30:00.123-07", "2026-12-07 01:30:00+07:00",
           "2026-12-07 01:30:00.123456+07:00", "2026-12-07 01:30:00.123456Z", "2026-12-07",
           "2026-12-07 24:00:00.000000", "2026-02-30 01:30:00.000000", "x" * 26,
           "2026-12-07 01:30:00.12345 ", "2026-12-07 01:30:00.1234567", "", None, 1, 1.5,
           b"2026-12-07 01:30:00.123456"]
    assert_same(fast, reference, stored + odd)
    assert fast(stored[0]).tzinfo is UTC


@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_json_goes_to_the_driver_as_sqlalchemy_sends_it(dialect_name):
    dialect, reference, _ = _processors(JSON(), dialect_name)
    fast = convert.bind(JSON(), dialect, reference)
    circular: dict = {}
    circular["self"] = circular
    assert_same(fast, reference, DOCUMENTS + ODD_JSON + UNSERIALIZABLE + [circular])
    assert_same(fast, reference, DOCUMENTS)  # after the errors: nothing left behind


def test_json_follows_the_serializer_the_engine_is_given():
    dialect = create_engine("sqlite://", json_serializer=lambda value: json.dumps(
        value, ensure_ascii=False, sort_keys=True)).dialect
    reference = JSON().dialect_impl(dialect).bind_processor(dialect)
    fast = convert.bind(JSON(), dialect, reference)
    assert fast(DOCUMENTS[4]) == reference(DOCUMENTS[4])
    assert NAME in fast(DOCUMENTS[4])


def test_sqlite_json_text_comes_back_as_sqlalchemy_parses_it():
    dialect, to_driver, reference = _processors(JSON(), "sqlite")
    fast = convert.result(JSON(), dialect, reference)
    texts = [to_driver(document) for document in DOCUMENTS + ODD_JSON]
    assert_same(fast, reference, texts + ["{", "", "[1,]", 7, 2.5, None, b"{}"])


@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_booleans_go_to_the_driver_as_sqlalchemy_sends_them(dialect_name):
    dialect, reference, _ = _processors(Boolean(), dialect_name)
    fast = convert.bind(Boolean(), dialect, reference)
    assert_same(fast, reference, [True, False, None, 1, 0, 2, "yes", 1.0])
