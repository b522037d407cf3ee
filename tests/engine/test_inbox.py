"""The officers' inbox (engine.inbox): who sees which task, in which order, a page at a time,
a dossier's own tasks, and a plan that reads the partial indexes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from engine import accounts, clock, inbox, tasks
from engine.demo import FINANCE, TRANSPORT
from engine.errors import InvalidData
from engine.models import Agency, Dossier, HumanTask, User
from tests.engine.factories import TaskRows, reception_task, submit


def user(p, name):
    return accounts.find_user(p, name)


def ids(rows):
    return [r["id"] for r in rows]


def every_page(p, officer, limit, scope="all"):
    pages, after = [], None
    while True:
        page = inbox.inbox_page(p, officer, scope=scope, after=after, limit=limit)
        pages.append(ids(page.tasks))
        if page.next is None:
            return pages
        after = page.next


@pytest.fixture
def dossier(platform):
    return submit(platform)


def test_due_date_order_with_no_due_date_last_then_id(platform, dossier):
    rows = TaskRows(platform)
    later = rows.add(dossier, due=3)
    undated = rows.add(dossier, due=None)
    soon = rows.add(dossier, due=1)
    mine = rows.add(dossier, assignee="chuyenvien", due=2)
    tie = rows.add(dossier, due=1)  # same due date as ``soon``: by id
    mine_undated = rows.add(dossier, assignee="chuyenvien", due=None)
    overdue = rows.add(dossier, due=-2)
    page = inbox.inbox_page(platform, user(platform, "chuyenvien"))
    assert ids(page.tasks) == [overdue, soon, tie, mine, later, undated, mine_undated]
    assert page.next is None
    row = page.tasks[0]
    assert row["dossier_code"] == dossier and row["status"] == "open"
    assert row["procedure_name"] and row["procedure_name_en"] and row["role"] == "handler"
    assert not row["mine"] and row["assignee"] is None
    assert [t["mine"] for t in page.tasks if t["id"] == mine] == [True]
    assert {t["assignee"] for t in page.tasks if t["mine"]} == {"chuyenvien"}


def test_pages_return_every_task_exactly_once(platform, dossier):
    rows = TaskRows(platform)
    expected = []
    for i in range(61):  # many equal due dates, some without one, mine and waiting mixed
        due = None if i % 7 == 0 else (i % 5) - 2
        expected.append((due is None, due or 0, rows.add(
            dossier, due=due, assignee="chuyenvien" if i % 3 == 0 else None)))
    rows.add(dossier, agency=FINANCE)  # not actionable: never on a page
    expected = [task_id for *_, task_id in sorted(expected)]
    officer = user(platform, "chuyenvien")
    for limit in (1, 7, 50):
        pages = every_page(platform, officer, limit)
        assert [len(p) for p in pages[:-1]] == [limit] * (len(pages) - 1)
        assert sum(pages, []) == expected
    assert len(every_page(platform, officer, 50)) == 2  # 61 rows: 50 + 11
    assert tasks.list_tasks(platform, officer) == inbox.all_tasks(platform, officer)
    assert ids(tasks.list_tasks(platform, officer)) == expected  # callers keep the whole list
    # A task finished between two pages does not shift the next page.
    first = inbox.inbox_page(platform, officer, limit=10)
    with platform.db.transaction() as session:
        session.execute(HumanTask.__table__.update().where(HumanTask.id == expected[3])
                        .values(status="completed"))
    second = inbox.inbox_page(platform, officer, after=first.next, limit=10)
    assert ids(second.tasks) == expected[10:20]


def test_mine_and_waiting_scopes_page_separately(platform, dossier):
    rows = TaskRows(platform)
    mine = [rows.add(dossier, assignee="chuyenvien", due=d) for d in (5, None, 1)]
    waiting = [rows.add(dossier, due=d) for d in (2, None, 4)]
    officer = user(platform, "chuyenvien")
    assert sum(every_page(platform, officer, 2, "mine"), []) == [mine[2], mine[0], mine[1]]
    assert sum(every_page(platform, officer, 2, "waiting"), []) == [waiting[0], waiting[2],
                                                                     waiting[1]]
    with pytest.raises(InvalidData):
        inbox.inbox_page(platform, officer, scope="everything")


def test_an_officer_sees_their_tasks_and_their_roles_unclaimed_ones_only(platform, dossier):
    rows = TaskRows(platform)
    visible = {
        rows.add(dossier),  # unclaimed, my role, my agency
        rows.add(dossier, assignee="chuyenvien"),  # claimed by me
        # assigned to me whatever its role and agency (I claimed it before a role change)
        rows.add(dossier, role="reception", agency=FINANCE, assignee="chuyenvien"),
    }
    hidden = {
        rows.add(dossier, agency=FINANCE),  # my role, another agency
        rows.add(dossier, role="reception"),  # my agency, another role
        rows.add(dossier, assignee="lanhdao"),  # claimed by someone else
        rows.add(dossier, status="completed"),
        rows.add(dossier, assignee="chuyenvien", status="cancelled"),
        rows.add(dossier, agency=None),  # a task without an agency is nobody's role's
    }
    reception = reception_task(platform, dossier)  # the real task: the reception officer's
    officer = user(platform, "chuyenvien")
    seen = set(ids(inbox.inbox_page(platform, officer).tasks))
    assert seen == visible and not seen & hidden
    assert reception in ids(inbox.inbox_page(platform, user(platform, "motcua")).tasks)
    # Two roles in two agencies: both pairs' unclaimed tasks, not the crossed pairs.
    with platform.db.transaction() as session:
        accounts.create_user(session, username="kiemnhiem", password="demo",
                             full_name="Kiêm Nhiệm", kind="staff", agency_code=TRANSPORT,
                             roles=[("handler", TRANSPORT), ("reception", FINANCE)])
    both = rows.add(dossier, role="reception", agency=FINANCE)
    crossed = rows.add(dossier, role="handler", agency=FINANCE)
    seen = set(ids(inbox.inbox_page(platform, user(platform, "kiemnhiem")).tasks))
    assert both in seen and crossed not in seen and reception not in seen
    # The applicant's own step is assigned to them; citizens with no roles see only theirs.
    assert inbox.inbox_page(platform, user(platform, "congdan")).tasks == []


def test_tasks_of_dossier_are_only_that_dossiers_actionable_tasks(platform, dossier):
    other = submit(platform)
    rows = TaskRows(platform)
    reception = reception_task(platform, dossier)
    handler = rows.add(dossier)
    rows.add(dossier, assignee="lanhdao")
    rows.add(other)
    officer = user(platform, "chuyenvien")
    assert ids(inbox.tasks_of_dossier(platform, officer, dossier)) == [handler]
    assert ids(inbox.tasks_of_dossier(platform, user(platform, "motcua"), dossier)) == [
        reception]
    assert inbox.tasks_of_dossier(platform, officer, "NO-SUCH-CODE") == []
    assert inbox.tasks_of_dossier(platform, user(platform, "doanhnghiep"), dossier) == []
    [row] = inbox.tasks_of_dossier(platform, officer, dossier)
    assert row == [t for t in inbox.inbox_page(platform, officer).tasks
                   if t["id"] == handler][0]


def test_due_filters_narrow_every_page_and_leave_out_undated_tasks(platform, dossier):
    rows = TaskRows(platform)
    overdue = [rows.add(dossier, due=-d / 10) for d in range(1, 8)]  # 7, most overdue last
    mine_overdue = rows.add(dossier, assignee="chuyenvien", due=-3)
    soon = rows.add(dossier, due=0.01)  # in a quarter of an hour
    rows.add(dossier, due=None)
    rows.add(dossier, due=12)  # well after the next working day
    officer = user(platform, "chuyenvien")

    def pages(limit, **filters):
        found, after = [], None
        while True:
            page = inbox.inbox_page(platform, officer, after=after, limit=limit, **filters)
            assert len(page.tasks) <= limit
            found += ids(page.tasks)
            if page.next is None:
                return found
            after = page.next

    most_overdue_first = [mine_overdue, *reversed(overdue)]
    for limit in (2, 3, 50):
        assert pages(limit, due="overdue") == most_overdue_first
    assert pages(3, due="overdue", scope="waiting") == list(reversed(overdue))
    assert pages(3, due="overdue", scope="mine") == [mine_overdue]
    assert pages(50, due="soon") == [soon]
    with pytest.raises(InvalidData) as err:
        inbox.inbox_page(platform, officer, due="later")
    assert err.value.details[0]["field"] == "due"


def test_search_finds_tasks_by_code_applicant_or_procedure(platform, dossier):
    other = submit(platform, username="congdan")
    rows = TaskRows(platform)
    firm_tasks = [rows.add(dossier, due=d) for d in (1, 2, 3)]
    citizen_task = rows.add(other, due=1.5)
    officer = user(platform, "chuyenvien")

    def found(text, **kwargs):
        return ids(inbox.inbox_page(platform, officer, search=text, **kwargs).tasks)

    assert found(other) == [citizen_task]
    assert found(other[-6:]) == [citizen_task]  # part of the code
    assert found(user(platform, "congdan").full_name.upper()) == [citizen_task]
    # the procedure's name, capitals folded on both databases (Vietnamese ones too)
    everything = [firm_tasks[0], citizen_task, *firm_tasks[1:]]
    assert found("GIẤY PHÉP KINH DOANH VẬN TẢI") == everything
    assert found("  giấy   phép ") == everything  # spaces trimmed and collapsed
    assert found("%") == [] and found("_") == []  # taken literally
    assert ids(inbox.inbox_page(platform, officer, search="GIẤY PHÉP", limit=2).tasks) == \
        everything[:2]
    page = inbox.inbox_page(platform, officer, search="giấy phép", limit=2)
    rest = inbox.inbox_page(platform, officer, search="giấy phép", limit=2, after=page.next)
    assert ids(rest.tasks) == everything[2:] and rest.next is None
    assert found(dossier, due="overdue") == []
    with pytest.raises(InvalidData) as err:
        inbox.inbox_page(platform, officer, search="x" * (inbox.SEARCH_MAX + 1))
    assert err.value.details[0]["field"] == "q"


def test_bad_cursors_and_page_sizes_are_refused(platform):
    officer = user(platform, "chuyenvien")
    for after in ("not a cursor", "eH4x", inbox.encode_cursor(None, 1)[:-1] + "!"):
        with pytest.raises(InvalidData) as err:
            inbox.inbox_page(platform, officer, after=after)
        assert err.value.details[0]["field"] == "after"
    for limit in (0, 51):
        with pytest.raises(InvalidData):
            inbox.inbox_page(platform, officer, limit=limit)
    now = clock.now()
    assert inbox.decode_cursor(inbox.encode_cursor(now, 42)) == (now, 42)
    assert inbox.decode_cursor(inbox.encode_cursor(None, 7)) == (None, 7)


def _explain(session, statement) -> str:
    compiled = statement.compile(dialect=session.bind.dialect)
    conn = session.connection()
    if session.bind.dialect.name == "postgresql":
        rows = conn.exec_driver_sql("EXPLAIN " + compiled.string, compiled.params).all()
        return "\n".join(r[0] for r in rows)
    params = tuple(compiled.params[name] for name in compiled.positiontup)
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + compiled.string, params).all()
    return "\n".join(r[-1] for r in rows)


def test_the_inbox_query_reads_the_partial_indexes(platform, dossier):
    """With a realistic spread of tasks (most completed; open ones over many agencies,
    roles and assignees), each arm is a range of its own partial index, no seq scan."""
    if platform.db.is_postgres:
        with platform.db.transaction() as session:
            users = list(session.execute(select(User.id)).scalars())
            agencies = list(session.execute(select(Agency.id)).scalars())
            dossier_id = session.execute(select(Dossier.id)).scalar()
            session.execute(text("""
                INSERT INTO human_task (dossier_id, task_guid, spec_name, title, role_code,
                    agency_id, assignee_id, properties, status, created_at, due_at)
                SELECT :dossier, 'bulk-' || g, 'Task_X', 'Việc', (ARRAY['reception',
                    'handler', 'head', 'district_finance'])[1 + g % 4],
                    (:agencies)[1 + (g / 4) % cardinality(:agencies)],
                    CASE WHEN g % 3 = 0 THEN (:users)[1 + g % cardinality(:users)] END,
                    '{}', CASE WHEN g % 10 < 8 THEN 'completed' ELSE 'open' END, now(),
                    CASE WHEN g % 13 <> 0 THEN now() + (g % 30) * interval '1 day' END
                FROM generate_series(1, 30000) AS g"""),
                {"dossier": dossier_id, "agencies": agencies, "users": users})
        with platform.db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE human_task")
    officer = user(platform, "chuyenvien")
    with platform.db.read() as session:
        first = _explain(session, inbox.inbox_query(officer, limit=51))
        window = inbox.due_window(session, "overdue")
        overdue = _explain(session, inbox.inbox_query(officer, limit=51, due="overdue",
                                                      search="giấy", window=window))
    assert "ix_task_assignee_due" in first and "ix_task_unclaimed_due" in first, first
    assert "ix_task_assignee_due" in overdue and "ix_task_unclaimed_due" in overdue, overdue
    if platform.db.is_postgres:
        assert "Seq Scan on human_task" not in first, first
        assert "Seq Scan on human_task" not in overdue, overdue
        page = inbox.inbox_page(platform, officer, limit=5)
        with platform.db.read() as session:
            later = _explain(session, inbox.inbox_query(officer, after=page.next, limit=51))
        assert "Seq Scan on human_task" not in later, later
        assert "ix_task_assignee_due" in later and "ix_task_unclaimed_due" in later, later
    else:
        assert not re.search(r"^SCAN human_task\b", first, re.M), first  # SEARCH … USING INDEX
