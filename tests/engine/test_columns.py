"""The shared column types (:mod:`engine.columns`) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select
from sqlalchemy.exc import StatementError

from engine import clock
from engine.columns import UTCDateTime


@pytest.fixture
def table(database_url):
    engine = create_engine(database_url)
    metadata = MetaData()
    moments = Table("test_columns_moments", metadata, Column("id", Integer, primary_key=True),
                    Column("at", UTCDateTime()))
    metadata.drop_all(engine)
    metadata.create_all(engine)
    yield engine, moments
    metadata.drop_all(engine)
    engine.dispose()


def test_a_moment_comes_back_as_the_same_instant_in_utc(table):
    engine, moments = table
    hanoi = datetime(2026, 1, 9, 10, 0, 30, tzinfo=clock.VIETNAM)
    with engine.begin() as connection:
        connection.execute(insert(moments).values(id=1, at=hanoi))
        connection.execute(insert(moments).values(id=2, at=None))
        back = dict(connection.execute(select(moments.c.id, moments.c.at)).all())
    assert back[1] == hanoi and back[1].tzinfo == UTC and back[1].hour == 3
    assert back[2] is None


def test_a_moment_without_a_time_zone_is_refused(table):
    engine, moments = table
    with engine.begin() as connection, pytest.raises(StatementError, match="naive datetime"):
        connection.execute(insert(moments).values(id=1, at=datetime(2026, 1, 9, 10, 0)))
