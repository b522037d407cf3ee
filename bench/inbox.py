"""The officers' inbox at scale: one officer's first page among 1,000,000 dossiers and
100,000 open tasks on PostgreSQL, the new query (engine.inbox) against the old shape.

What it builds (``python -m bench.inbox``, also the second step of ``make bench``), in a
database it DROPS and recreates (default
``postgresql+psycopg://postgres@127.0.0.1:5432/motcua_bench_inbox``, or
``MOTCUA_BENCH_INBOX_DATABASE_URL`` / ``--database-url``; names starting with ``test``,
``postgres``, ``template`` and ``root`` are refused):

- the schema of engine.models, the reference data (57 agencies, the roles), every bundle
  in bpmn/ and the demo accounts; 8 officers for each (reception | handler | head, agency)
  pair and 100,000 citizens;
- ``--dossiers`` dossiers (1,000,000) over the procedures and agencies, made with
  ``generate_series``; the first ``--open-tasks`` (100,000) have one open task each,
  every other one a completed task. An open task is the applicant's supplement step (5%,
  assigned to the applicant) or a step of its dossier's agency for a random role of
  reception/handler/head, claimed by one of that pair's officers (55%) or unclaimed;
  due dates spread from 10 days ago to 30 days ahead, 5% without one. Random choices come
  from a seeded ``random()``: the same data every run;
- ``VACUUM ANALYZE``.

The officer is the demo account ``chuyenvien`` (handler of the transport department):
a few hundred actionable tasks (printed). Measured, ``--n`` times each after a warm-up,
alternating the two so that both see the same machine load:

- **new**: ``engine.inbox.inbox_page`` (first page, 50 rows) — a read transaction, one
  statement: UNION ALL of "assigned to me" and one arm per (role, agency), Core rows;
- **old**: the query of engine.tasks.list_tasks before engine.inbox (copied here, frozen):
  a write transaction, all agencies read, ``status = 'open' AND (assignee_id = me OR
  (assignee_id IS NULL AND (role, agency) pairs))`` ordered by due date, every row, loaded
  as ORM objects with the eager joins the models had then (dossier, procedure and its
  active version's metadata, agencies, applicant, assignee);
- **dossier page**: ``engine.inbox.tasks_of_dossier`` for one of the officer's dossiers
  (before, the dossier page ran the whole old inbox and filtered it).

Both shapes run on two schemas, one after the other in the same run: the *landed*
indexes (``ix_task_inbox`` (status, role_code, agency_id)) and the *0006* ones (the two
partial indexes of engine.models). Headline: old shape on the landed schema against new
shape on the 0006 schema. Each case: p50/p95/p99 in milliseconds of wall time in this
client (connection from the pool, SQL, rows to dicts), and the EXPLAIN (ANALYZE,
BUFFERS) of both statements is printed. Results go to ``bench/inbox-results.json``.

A default run builds for ~3–5 minutes and measures for ~1–2 on this project's 2-core VM.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import and_, false, or_, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import joinedload

from bench import fixtures, report
from engine import accounts, demo, inbox, setup
from engine.config import Settings
from engine.models import Agency, Dossier, HumanTask, Procedure, User
from engine.platform import Platform

REPO = Path(__file__).resolve().parent.parent
DEFAULT_URL = os.environ.get("MOTCUA_BENCH_INBOX_DATABASE_URL",
                             "postgresql+psycopg://postgres@127.0.0.1:5432/motcua_bench_inbox")
OFFICER = "chuyenvien"
TARGET_P95_MS = 10.0
STAFF_ROLES = ("reception", "handler", "head")
OFFICERS_PER_PAIR = 8
CITIZENS = 100_000
NEW_INDEXES = ("ix_task_assignee_due", "ix_task_unclaimed_due")


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.inbox",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--dossiers", type=int, default=1_000_000, help="dossiers (1,000,000)")
    ap.add_argument("--open-tasks", type=int, default=100_000, help="open tasks (100,000)")
    ap.add_argument("--n", type=int, default=200, help="timed calls of each case (200)")
    ap.add_argument("--warmup", type=int, default=20, help="untimed calls first (20)")
    ap.add_argument("--database-url", default=DEFAULT_URL,
                    help="PostgreSQL database to DROP and recreate (default %(default)s)")
    ap.add_argument("--output", type=Path,
                    default=Path(__file__).resolve().parent / "inbox-results.json")
    return ap.parse_args(argv)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def recreate(url: str) -> None:
    if not make_url(url).drivername.startswith("postgresql"):
        raise SystemExit("the inbox benchmark needs PostgreSQL")
    fixtures.recreate_postgres(url)


# -- the data -----------------------------------------------------------------------------

def build(url: str, data_dir: Path, dossiers: int, open_tasks: int) -> Platform:
    """The platform with the schema, reference data, bundles, demo accounts and the bulk
    rows, on the *landed* indexes (the 0006 ones are dropped until :func:`use_0006`)."""
    from argon2 import PasswordHasher

    accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    p = Platform(Settings(data_dir=data_dir, database_url=url, secret_key="bench",
                          bpmn_dir=REPO / "bpmn"))
    result = setup.init(p, migrate=False)
    if result["errors"]:
        raise SystemExit(f"deploying the bundles failed: {result['errors']}")
    demo.create_accounts(p, with_pki=False)
    use_landed(p)
    steps = [
        ("officers", OFFICERS_SQL, {"roles": list(STAFF_ROLES), "per_pair": OFFICERS_PER_PAIR}),
        ("citizens", CITIZENS_SQL, {"citizens": CITIZENS}),
        ("dossiers", DOSSIERS_SQL, {"dossiers": dossiers, "open": open_tasks}),
        ("open tasks", OPEN_TASKS_SQL, {"open": open_tasks, "roles": list(STAFF_ROLES)}),
        ("completed tasks", COMPLETED_TASKS_SQL, {"open": open_tasks, "dossiers": dossiers}),
    ]
    with p.db.engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.42)"))
        for label, statements, params in steps:
            started = time.perf_counter()
            count = 0
            for sql in statements.split(";\n"):
                used = {k: v for k, v in params.items() if f":{k}" in sql}
                count += max(conn.execute(text(sql), used).rowcount, 0)
            say(f"  {label}: {count:,} rows in {time.perf_counter() - started:.0f} s")
    vacuum(p)
    return p


OFFICERS_SQL = """
INSERT INTO user_account (username, password_hash, full_name, kind, email, phone, id_number,
                          title, agency_id, active, created_at)
SELECT 'cb-' || a.id || '-' || r.code || '-' || k, 'x', 'Cán bộ ' || k, 'staff', '', '', '',
       '', a.id, true, now()
FROM agency a CROSS JOIN unnest(CAST(:roles AS text[])) AS r(code)
     CROSS JOIN generate_series(1, :per_pair) AS k;
INSERT INTO user_role (user_id, role_code, agency_id)
SELECT u.id, split_part(u.username, '-', 3), u.agency_id FROM user_account u
WHERE u.username LIKE 'cb-%'
"""

CITIZENS_SQL = """
INSERT INTO user_account (username, password_hash, full_name, kind, email, phone, id_number,
                          title, agency_id, active, created_at)
SELECT 'cd-' || g, 'x', 'Công dân ' || g, 'citizen', '', '', lpad(g::text, 12, '0'), '',
       NULL, true, now()
FROM generate_series(1, :citizens) AS g
"""

# Dossier g: a procedure and an agency at random; the first :open ones are in progress.
DOSSIERS_SQL = """
WITH procs AS (SELECT row_number() OVER (ORDER BY id) AS n, id, active_version_id
               FROM procedure WHERE active_version_id IS NOT NULL),
     agencies AS (SELECT row_number() OVER (ORDER BY id) AS n, id FROM agency),
     citizens AS (SELECT min(id) AS first, count(*) AS count FROM user_account
                  WHERE kind = 'citizen' AND username LIKE 'cd-%'),
     picks AS (SELECT g,
                      1 + floor(random() * (SELECT count(*) FROM procs))::int AS proc,
                      1 + floor(random() * (SELECT count(*) FROM agencies))::int AS agency,
                      floor(random() * (SELECT count FROM citizens))::int AS citizen,
                      random() AS age
               FROM generate_series(1, :dossiers) AS g)
INSERT INTO dossier (id, code, procedure_id, version_id, agency_id, applicant_id, status,
                     channel, data, received_at, due_at, finished_at, updated_at,
                     paused_working_days, supplement_count)
SELECT g, 'BENCH-' || lpad(g::text, 7, '0'), p.id, p.active_version_id, a.id,
       (SELECT first FROM citizens) + citizen,
       CASE WHEN g <= :open THEN 'in_progress' ELSE 'returned' END,
       'online', '{}', now() - age * interval '700 days',
       now() - age * interval '700 days' + interval '15 days',
       CASE WHEN g <= :open THEN NULL ELSE now() - age * interval '690 days' END, now(), 0, 0
FROM picks JOIN procs p ON p.n = picks.proc JOIN agencies a ON a.n = picks.agency;
SELECT setval(pg_get_serial_sequence('dossier', 'id'), (SELECT max(id) FROM dossier))
"""

# One open task per dossier 1..:open; who may act on it as described in the module doc.
OPEN_TASKS_SQL = """
WITH officers AS MATERIALIZED (
         SELECT ur.agency_id, ur.role_code, ur.user_id,
                row_number() OVER (PARTITION BY ur.agency_id, ur.role_code
                                   ORDER BY ur.user_id) AS slot,
                count(*) OVER (PARTITION BY ur.agency_id, ur.role_code) AS officers
         FROM user_role ur),
     picks AS MATERIALIZED (
         SELECT d.id, d.agency_id, d.applicant_id, random() AS kind,
                (CAST(:roles AS text[]))[1 + floor(random() * 3)::int] AS role,
                random() AS claim, random() AS pick, random() AS due
         FROM dossier d WHERE d.id <= :open)
INSERT INTO human_task (dossier_id, task_guid, spec_name, title, role_code, agency_id,
                        assignee_id, properties, status, created_at, due_at)
SELECT picks.id, 'bench-open-' || picks.id,
       CASE WHEN kind < 0.05 THEN 'Task_Supplement' ELSE 'Task_' || role END,
       CASE WHEN kind < 0.05 THEN 'Bổ sung hồ sơ' ELSE 'Xử lý hồ sơ (' || role || ')' END,
       CASE WHEN kind < 0.05 THEN 'applicant' ELSE role END,
       CASE WHEN kind < 0.05 THEN NULL ELSE picks.agency_id END,
       CASE WHEN kind < 0.05 THEN picks.applicant_id
            WHEN claim < 0.55 THEN o.user_id
       END,
       '{}', 'open', now() - interval '3 days',
       CASE WHEN due < 0.05 THEN NULL
            ELSE now() + (due * 40 - 10) * interval '1 day' END
FROM picks
LEFT JOIN officers o ON o.agency_id = picks.agency_id AND o.role_code = picks.role
                    AND o.slot = 1 + floor(picks.pick * o.officers)::int
"""

COMPLETED_TASKS_SQL = """
WITH handlers AS (SELECT agency_id, min(user_id) AS user_id FROM user_role
                  WHERE role_code = 'handler' GROUP BY agency_id)
INSERT INTO human_task (dossier_id, task_guid, spec_name, title, role_code, agency_id,
                        assignee_id, properties, status, created_at, due_at, completed_at,
                        completed_by_id)
SELECT d.id, 'bench-done-' || d.id, 'Task_handler', 'Xử lý hồ sơ (handler)', 'handler',
       d.agency_id, o.user_id, '{}', 'completed', d.received_at, d.due_at, d.finished_at,
       o.user_id
FROM dossier d JOIN handlers o ON o.agency_id = d.agency_id
WHERE d.id > :open AND d.id <= :dossiers
"""


def vacuum(p: Platform) -> None:
    started = time.perf_counter()
    with p.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    say(f"  VACUUM ANALYZE in {time.perf_counter() - started:.0f} s")


def use_landed(p: Platform) -> None:
    """The indexes of human_task as they were before migration 0006."""
    with p.db.engine.begin() as conn:
        for name in NEW_INDEXES:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_task_inbox "
                             "ON human_task (status, role_code, agency_id)")


def use_0006(p: Platform) -> None:
    """The indexes of engine.models (migration 0006)."""
    table = HumanTask.__table__
    with p.db.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_task_inbox")
        for index in table.indexes:
            if index.name in NEW_INDEXES:
                index.create(conn, checkfirst=True)
    vacuum(p)


def sizes(p: Platform, officer) -> dict:
    with p.db.read() as session:
        count = session.execute(text(
            "SELECT (SELECT count(*) FROM dossier), (SELECT count(*) FROM human_task), "
            "(SELECT count(*) FROM human_task WHERE status = 'open'), "
            "(SELECT count(*) FROM agency), (SELECT count(*) FROM user_account)")).one()
    every = inbox.all_tasks(p, officer)
    return {"dossiers": count[0], "tasks": count[1], "open_tasks": count[2],
            "agencies": count[3], "users": count[4], "officer": officer.username,
            "officer_roles": [list(r) for r in officer.roles],
            "officer_actionable": len(every),
            "officer_assigned": sum(1 for t in every if t["mine"]),
            "officer_unclaimed": sum(1 for t in every if not t["mine"])}


# -- the old shape, frozen ----------------------------------------------------------------

def _old_options():
    """The eager joins HumanTask rows came with before engine.inbox (``lazy="joined"`` on
    the models then): the dossier with its procedure (and the procedure's agency and active
    version, metadata included), agency and applicant; the assignee."""
    return (joinedload(HumanTask.dossier).options(
                joinedload(Dossier.procedure).options(joinedload(Procedure.agency),
                                                      joinedload(Procedure.active_version)),
                joinedload(Dossier.agency),
                joinedload(Dossier.applicant).joinedload(User.agency)),
            joinedload(HumanTask.assignee).joinedload(User.agency))


def _old_statement(session, user):
    codes = dict(session.execute(select(Agency.code, Agency.id)).all())
    by_role = [and_(HumanTask.role_code == role, HumanTask.agency_id == codes[agency])
               for role, agency in user.roles if agency in codes]
    return (select(HumanTask).where(HumanTask.status == "open",
                                    or_(HumanTask.assignee_id == user.id,
                                        and_(HumanTask.assignee_id.is_(None),
                                             or_(*by_role) if by_role else false())))
            .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id))


def _old_row(task: HumanTask, user) -> dict:
    return {"id": task.id, "title": task.title, "status": task.status,
            "dossier_code": task.dossier.code,
            "procedure_name": task.dossier.procedure.name_vi,
            "procedure_name_en": task.dossier.procedure.name_en,
            "role": task.role_code,
            "assignee": task.assignee.username if task.assignee else None,
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "created_at": task.created_at.isoformat(),
            "mine": task.assignee_id == user.id}


def old_list_tasks(p, user) -> list[dict]:
    """engine.tasks.list_tasks as it was before engine.inbox."""
    with p.db.transaction() as session:
        rows = session.execute(_old_statement(session, user).options(*_old_options())
                               ).unique().scalars().all()
        return [_old_row(t, user) for t in rows]


# -- measuring ----------------------------------------------------------------------------

def explain(session, statement, analyze: bool = True) -> str:
    compiled = statement.compile(dialect=session.bind.dialect)
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
    rows = session.connection().exec_driver_sql(prefix + compiled.string, compiled.params)
    return "\n".join(r[0] for r in rows)


def plans(p: Platform, officer) -> dict:
    with p.db.read() as session:
        new = explain(session, inbox.inbox_query(officer, limit=inbox.PAGE_SIZE + 1))
        old = explain(session, _old_statement(session, officer).options(*_old_options()))
    return {"new": new, "old": old}


def percentiles(times_ms: list[float]) -> dict:
    ordered = sorted(times_ms)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"n": len(ordered), "p50_ms": cut[49], "p95_ms": cut[94], "p99_ms": cut[98],
            "mean_ms": statistics.fmean(ordered), "min_ms": ordered[0], "max_ms": ordered[-1]}


def measure(cases: dict, n: int, warmup: int) -> dict:
    """Each case ``n`` times, round-robin (the order rotates each round), after ``warmup``
    rounds; wall milliseconds per call."""
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(n):
        for name in names[i % len(names):] + names[:i % len(names)]:
            started = time.perf_counter()
            cases[name]()
            times[name].append(1000 * (time.perf_counter() - started))
    return {name: percentiles(t) for name, t in times.items()}


def schema_run(p: Platform, officer, dossier_code: str, n: int, warmup: int,
               old_n: int) -> dict:
    first = inbox.inbox_page(p, officer)
    old = old_list_tasks(p, officer)
    assert [t["id"] for t in old[:inbox.PAGE_SIZE]] == [t["id"] for t in first.tasks], \
        "the old and the new inbox disagree"
    result = measure({"new": lambda: inbox.inbox_page(p, officer),
                      "dossier page": lambda: inbox.tasks_of_dossier(p, officer, dossier_code)},
                     n, warmup)
    result.update(measure({"old": lambda: old_list_tasks(p, officer),
                           "new (again, alongside old)": lambda: inbox.inbox_page(p, officer)},
                          old_n, max(1, warmup // 4)))
    result["rows"] = {"new": len(first.tasks), "old": len(old)}
    result["plans"] = plans(p, officer)
    return result


def commit() -> str:
    """The checkout's commit, with ``+changes`` when files differ from it (the engine code
    measured may be uncommitted work)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, check=True,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""
    return head + ("+changes" if dirty.strip() else "")


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    info = report.machine()
    info["commit"] = commit()
    info["load_before"] = report.load()
    say(f"recreating {make_url(args.database_url).database} and building {args.dossiers:,} "
        f"dossiers, {args.open_tasks:,} open tasks")
    recreate(args.database_url)
    with tempfile.TemporaryDirectory(prefix="motcua-bench-inbox-") as tmp:
        p = build(args.database_url, Path(tmp), args.dossiers, args.open_tasks)
        try:
            info["postgresql"] = report.postgres_info(p)
            officer = accounts.find_user(p, OFFICER)
            data = sizes(p, officer)
            say(f"{OFFICER}: {data['officer_actionable']} actionable tasks "
                f"({data['officer_assigned']} assigned, {data['officer_unclaimed']} unclaimed)")
            dossier_code = inbox.inbox_page(p, officer).tasks[0]["dossier_code"]
            old_n = max(20, args.n // 4)
            say(f"landed indexes: new ×{args.n}, dossier page ×{args.n}, old ×{old_n}")
            landed = schema_run(p, officer, dossier_code, args.n, args.warmup, old_n)
            say("0006 indexes: creating, VACUUM ANALYZE")
            use_0006(p)
            say(f"0006 indexes: new ×{args.n}, dossier page ×{args.n}, old ×{old_n}")
            new = schema_run(p, officer, dossier_code, args.n, args.warmup, old_n)
        finally:
            p.close()
    info["load_after"] = report.load()
    before, after = landed["old"]["p95_ms"], new["new"]["p95_ms"]
    out = {"machine": info, "args": {k: str(v) for k, v in vars(args).items() if k != "output"},
           "data": data, "schemas": {"landed": landed, "0006": new},
           "headline": {"before_p95_ms": before, "after_p95_ms": after,
                        "speedup_p95": before / after, "target_p95_ms": TARGET_P95_MS,
                        "target_met": after <= TARGET_P95_MS},
           "duration_s": time.perf_counter() - started}
    args.output.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_report(out)
    print(f"\nresults written to {args.output} ({out['duration_s']:.0f} s)")
    return 0


def print_report(out: dict) -> None:
    data, schemas = out["data"], out["schemas"]
    print(f"\n{data['dossiers']:,} dossiers, {data['tasks']:,} tasks ({data['open_tasks']:,} "
          f"open); {data['officer']} has {data['officer_actionable']} actionable tasks")
    rows = []
    for schema, run in schemas.items():
        for case in ("old", "new (again, alongside old)", "new", "dossier page"):
            c = run[case]
            rows.append([f"{schema}: {case}", c["n"], f"{c['p50_ms']:.2f}", f"{c['p95_ms']:.2f}",
                         f"{c['p99_ms']:.2f}"])
    print(report._table(["case (wall ms per call)", "calls", "p50", "p95", "p99"], rows))
    for schema, run in schemas.items():
        ratio = run["old"]["p95_ms"] / run["new (again, alongside old)"]["p95_ms"]
        print(f"{schema}: old ÷ new at p95 (measured alternately) = {ratio:.1f}×; rows "
              f"returned old {run['rows']['old']}, new {run['rows']['new']}")
    h = out["headline"]
    print(f"\nheadline p95: before (old shape, landed indexes) {h['before_p95_ms']:.1f} ms → "
          f"after (engine.inbox, 0006 indexes) {h['after_p95_ms']:.2f} ms "
          f"({h['speedup_p95']:.0f}×); target ≤ {h['target_p95_ms']:.0f} ms: "
          f"{'met' if h['target_met'] else 'NOT met'}")
    for schema, run in schemas.items():
        for shape in ("new", "old"):
            print(f"\n-- EXPLAIN (ANALYZE, BUFFERS), {schema} indexes, {shape} statement --")
            print(run["plans"][shape])


if __name__ == "__main__":
    raise SystemExit(main())
