"""engine.step.driver: a statement compiled once for the driver — its SQL as the dialect
writes it, its values and rows converted as SQLAlchemy's processors convert them — and
sent on a driver cursor as SQLAlchemy sends one: cursor events, errors and a dropped
connection handled as its own."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import JSON, Boolean, String, bindparam, func, literal_column, select, update

from engine.columns import UTCDateTime
from engine.models import AuditEvent, CodeSequence, HumanTask, Outbox
from engine.step.driver import Driver, _compile, _numbered, driver_form
from engine.step.load import _LOCK_ROW
from engine.step.sql import Template, Write, insert_rows, param, run, send
from tests.engine.step.test_convert import AWARE, DIALECTS, DOCUMENTS, NAME, assert_same_value
from tests.engine.step.test_sql import TABLE, _rows


@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_a_statement_is_compiled_once_as_the_dialect_writes_it(dialect_name):
    dialect = DIALECTS[dialect_name]
    statement = select(CodeSequence.name).where(CodeSequence.last > bindparam("low"),
                                                CodeSequence.name == bindparam("name"))
    driver = driver_form(statement, dialect)
    assert driver_form(statement, dialect) is driver
    compiled = str(statement.compile(dialect=dialect))
    if dialect_name == "sqlite":
        assert driver.sql == compiled and "?" in driver.sql
    else:  # psycopg's named parameters numbered for its raw cursor
        assert driver.sql == compiled.replace("%(low)s", "$1").replace("%(name)s", "$2")
    assert driver.order == ("low", "name")
    assert driver.parameters({"name": "a", "low": 3}) == (3, "a")


@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_a_statement_whose_sql_depends_on_its_values_has_no_driver_form(dialect_name):
    statement = select(CodeSequence.name).where(
        CodeSequence.name.in_(bindparam("names", expanding=True)))
    assert driver_form(statement, DIALECTS[dialect_name]) is None


# -- the values sent and the rows read, as SQLAlchemy's processors make them -------------

def _reference_parameters(compiled, order, params):
    values = {**compiled.params, **params}
    for name, process in compiled._bind_processors.items():
        values[name] = process(values[name])
    return tuple(values[name] for name in order)


MOMENT = datetime(2026, 12, 7, 8, 30, 0, 250000, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def _statements():
    audit = [{"at": MOMENT + timedelta(seconds=i), "actor": "chuyenvien", "action": "complete",
              "dossier_id": 7, "detail": DOCUMENTS[4 + i], "prev_hash": "0" * 64,
              "hash": f"{i}" * 64} for i in range(3)]
    task = {"dossier_id": 7, "task_guid": "g", "spec_name": "Task_Check", "title": NAME,
            "role_code": "motcua", "agency_id": None, "status": "open", "properties": {},
            "created_at": MOMENT, "due_at": None, "form": None, "assignee_id": None,
            "completed_at": MOMENT + timedelta(days=3), "completed_by_id": 3,
            "data": {"ok": NAME}}
    outbox = {"idempotency_key": "k", "kind": "email", "dossier_id": 7, "recipient": "a@b.vn",
              "subject": NAME, "body": "", "attachments": [], "status": "pending",
              "attempts": 0, "next_attempt_at": MOMENT, "created_at": MOMENT,
              "last_error": None, "sent_at": None}
    tasks = HumanTask.__table__
    done = Template(lambda tag: update(tasks).where(tasks.c.id == param("id", tag=tag)).values(
        status="completed", assignee_id=None, completed_at=param("at", tasks.c.completed_at, tag),
        data=param("data", tasks.c.data, tag)))
    return [insert_rows(AuditEvent.__table__, audit), insert_rows(AuditEvent.__table__, audit[:1]),
            insert_rows(tasks, [task]), insert_rows(Outbox.__table__, [outbox]),
            Write(done, {"id": 3, "at": MOMENT, "data": DOCUMENTS[5]})]


def _assert_same_parameters(got, expected) -> None:
    assert type(got) is tuple and len(got) == len(expected)
    for position, (value, reference) in enumerate(zip(got, expected, strict=True)):
        assert_same_value(value, reference, position)


@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_a_statement_sends_the_values_sqlalchemys_processors_make(dialect_name):
    dialect = DIALECTS[dialect_name]
    for write in _statements():
        statement = write.template.plain
        driver, compiled = _compile(statement, dialect), statement.compile(dialect=dialect)
        assert isinstance(driver, Driver), statement
        order = (compiled.positiontup if compiled.positional
                 else _numbered(str(compiled))[1])
        params = {f"p_{name}": value for name, value in write.values.items()}
        left_out = {name: value for name, value in params.items() if name != "p_id"}
        for given in (params, dict(list(params.items())[1:]), left_out, {**params, "other": 1}):
            _assert_same_parameters(driver.parameters(given),
                                    _reference_parameters(compiled, order, given))


@pytest.mark.parametrize("dialect_name", DIALECTS)
def test_the_locked_dossier_row_comes_back_as_sqlalchemys_processors_make_it(dialect_name):
    dialect = DIALECTS[dialect_name]
    driver = _compile(_LOCK_ROW, dialect)
    columns = list(_LOCK_ROW.selected_columns)
    processors = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                  for column in columns]
    assert sum(p is not None for p in processors) >= 9

    def stored(column, k):
        """What the driver would return for ``column`` in the k-th row."""
        kind = column.type
        if isinstance(kind, UTCDateTime):
            moment = AWARE[(7 * k + columns.index(column)) % len(AWARE)]
            if k == 1 or moment.year in (1, 9999):
                return None
            if dialect_name == "sqlite":
                return column.type.dialect_impl(dialect).bind_processor(dialect)(moment)
            return moment
        if isinstance(kind, JSON):
            document = DOCUMENTS[(k + columns.index(column)) % len(DOCUMENTS)]
            return json.dumps(document) if dialect_name == "sqlite" else document
        if isinstance(kind, Boolean):
            return (k % 2) if dialect_name == "sqlite" else bool(k % 2)
        return None if k == 1 else f"{column.key}-{k}" if isinstance(kind, String) else k

    found = [tuple(stored(column, k) for column in columns) for k in range(4)]
    expected = [tuple(value if process is None else process(value)
                      for value, process in zip(row, processors, strict=True)) for row in found]
    got = driver.converted(list(found))
    for row, reference in zip(got, expected, strict=True):
        assert type(row) is tuple and len(row) == len(columns)
        for column, value, wanted in zip(columns, row, reference, strict=True):
            assert_same_value(value, wanted, column.key)


# -- sent on the driver's cursor as SQLAlchemy sends it (by engine.step.sql.run) ---------

def test_percent_signs_and_repeated_parameters_keep_their_meaning(platform):
    """PostgreSQL's SQL is renumbered for the raw cursor: a literal ``%`` stays one, a
    parameter used twice is one value."""
    bound = bindparam("pattern", type_=String)
    statement = (select(CodeSequence.name).where(CodeSequence.name.like(bound),
                                                 CodeSequence.name != bound + "%")
                 .where(CodeSequence.name.like(literal_column("'%-pct-%'")))  # % in the SQL
                 .order_by(CodeSequence.name))
    with platform.db.transaction() as session:
        send(session, [insert_rows(TABLE, [{"name": "sql-pct-a", "last": 1},
                                           {"name": "sql-pct-b", "last": 2},
                                           {"name": "other-pct-c", "last": 3}])])
        assert run(session, statement, {"pattern": "sql-%"}) == [("sql-pct-a",), ("sql-pct-b",)]


def test_the_driver_path_is_seen_by_cursor_listeners_and_errors_are_sqlalchemys(platform):
    from sqlalchemy import event
    from sqlalchemy.exc import IntegrityError

    seen = []

    def sent(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(platform.db.engine, "before_cursor_execute", sent)
    try:
        with platform.db.transaction() as session:
            send(session, [insert_rows(TABLE, [{"name": "sql-ev", "last": 1}])])
    finally:
        event.remove(platform.db.engine, "before_cursor_execute", sent)
    assert any("code_sequence" in s.lower() for s in seen)
    with pytest.raises(IntegrityError), platform.db.transaction() as session:
        send(session, [insert_rows(TABLE, [{"name": "sql-ev", "last": 2}])])  # same key
    assert _rows(platform, "sql-ev") == [("sql-ev", 1)]


def test_a_connection_the_server_dropped_fails_one_transaction_and_is_replaced(platform):
    """A driver statement on a connection PostgreSQL has closed is handled as SQLAlchemy
    handles its own: the error says the connection was invalidated, the pool drops it, and
    the next transaction runs on a new one."""
    from sqlalchemy import create_engine, literal, text
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.pool import NullPool

    if not platform.db.is_postgres:
        pytest.skip("a server that drops connections is PostgreSQL's case")
    platform.db.engine.dispose()  # one pooled connection from here on
    with platform.db.transaction() as session:
        (pid,), = run(session, select(func.pg_backend_pid()), {})
    killer = create_engine(platform.db.engine.url, poolclass=NullPool)
    with killer.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()
    with pytest.raises(DBAPIError) as failed, platform.db.transaction() as session:
        run(session, select(literal(1)), {})
    assert failed.value.connection_invalidated
    with platform.db.transaction() as session:
        assert run(session, select(func.pg_backend_pid()), {}) != [(pid,)]
