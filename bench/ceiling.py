"""The ceiling of the step path's ratio on this machine (printed by ``bench.steps``).

How many transactions a licence lifecycle commits, what the smallest durable transaction
and the smallest statement cost on a database, and from those the best ratio to
SpiffWorkflow in memory that any implementation committing each action durably could reach
here: with the commits alone, with what the stack itself costs (SpiffWorkflow saving its
workflow after each action, the statements at the driver's floor), and with the server left
idle between transactions for as long as the stack's own client work keeps it (see
``bench.steps``' docstring).
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from sqlalchemy import event, text

from bench import runners

FLOOR_TABLE = "bench_floor"


@contextmanager
def _floor_table(db):
    """A one-row table of the floors' own, dropped afterwards."""
    with db.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {FLOOR_TABLE}"))
        conn.execute(text(f"CREATE TABLE {FLOOR_TABLE} (id INTEGER PRIMARY KEY, n INTEGER)"))
        conn.execute(text(f"INSERT INTO {FLOOR_TABLE} VALUES (1, 0)"))
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {FLOOR_TABLE}"))


def durable_floor(db, n: int = 200, gap_ms: float = 0.0) -> dict:
    """The median and 10th-percentile wall time of the smallest durable transaction on
    ``db`` (a :class:`engine.db.Database`): lock a row, update it, insert one, commit.
    ``gap_ms``: the client computes that long before each one (as a lifecycle's client
    does between its transactions), so the server has been idle when it begins."""
    lock = "" if db.engine.dialect.name == "sqlite" else " FOR UPDATE"
    times = []
    with _floor_table(db):
        for i in range(n + 10):
            _compute(gap_ms)
            start = time.perf_counter()
            with db.engine.begin() as conn:
                conn.execute(text(f"SELECT n FROM {FLOOR_TABLE} WHERE id = 1{lock}")).scalar()
                conn.execute(text(f"UPDATE {FLOOR_TABLE} SET n = n + 1 WHERE id = 1"))
                conn.execute(text(f"INSERT INTO {FLOOR_TABLE} VALUES (:id, 0)"), {"id": i + 2})
            times.append(time.perf_counter() - start)
    times = sorted(times[10:])
    return {"median_ms": 1000 * times[len(times) // 2], "p10_ms": 1000 * times[len(times) // 10]}


def _compute(ms: float) -> None:
    """Keep this thread busy for ``ms`` milliseconds."""
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        sum(range(50))


def per_lifecycle(target) -> tuple[float, float]:
    """Transactions a licence lifecycle of ``target`` (a ``bench.steps.Target``) commits and statements it sends (the harness's
    look-ups are single statements outside any transaction, not counted:
    :meth:`engine.db.Database.rows`)."""
    counted = {"commit": 0, "before_cursor_execute": 0}

    def counter(name):
        def count(*args) -> None:
            counted[name] += 1
        return count

    listeners = [(name, counter(name)) for name in counted]
    for name, listener in listeners:
        event.listen(target.p.db.engine, name, listener)
    try:
        runners.run_persisted(target.p, target.nosign, target.licence_users, target.scenario,
                              target.files, 3)
    finally:
        for name, listener in listeners:
            event.remove(target.p.db.engine, name, listener)
    return counted["commit"] / 3, counted["before_cursor_execute"] / 3


def statement_floor(db, n: int = 500) -> dict:
    """The median wall time and the mean client CPU time of the smallest statement on the
    driver's own cursor, as a step sends its statements (prepared, in a transaction): a row
    by primary key."""
    marker = "?" if db.engine.dialect.name == "sqlite" else "%s"
    query = f"SELECT n FROM {FLOOR_TABLE} WHERE id = {marker}"
    walls, cpus = [], []
    with _floor_table(db):
        pooled = db.engine.raw_connection()
        try:
            cursor = pooled.driver_connection.cursor()
            for _ in range(n + 20):
                cpu, start = time.process_time(), time.perf_counter()
                cursor.execute(query, (1,))
                cursor.fetchall()
                walls.append(time.perf_counter() - start)
                cpus.append(time.process_time() - cpu)
            cursor.close()
            pooled.driver_connection.rollback()
        finally:
            pooled.close()
    walls, cpus = sorted(walls[20:]), cpus[20:]
    return {"statement_ms": 1000 * walls[len(walls) // 2],
            "statement_cpu_ms": 1000 * sum(cpus) / len(cpus)}


def ceiling(target, memory: dict) -> dict:
    """The best ratio a lifecycle of durable transactions could reach here (see the module
    docstring); and what the stack alone costs a lifecycle: SpiffWorkflow in memory, saving
    its state after each action, and the statements and commits at their floors — the
    commits back to back, and each after the stack's own client work between two of them
    (SpiffWorkflow's steps and save of one action), which leaves a database server idle
    (SQLite has none: there it is the client's own caches that the work between cools)."""
    floor = durable_floor(target.p.db)
    statement = statement_floor(target.p.db)
    commits, statements = per_lifecycle(target)
    memory_ms = 1000 / memory["licence"]
    saves_ms = max(0.0, 1000 / memory["licence_saving_state"] - 1000 / memory["licence_warm"])
    gap_ms = (memory_ms + saves_ms) / commits
    idle = durable_floor(target.p.db, gap_ms=gap_ms)
    # the durable floor's transaction sends three statements: count only the others
    extra = max(0.0, statements - 3 * commits)
    uncommitted_ms = memory_ms + saves_ms + extra * statement["statement_ms"]
    stack_ms = uncommitted_ms + commits * floor["median_ms"]
    return {**floor, **statement, "commits_per_lifecycle": commits,
            "statements_per_lifecycle": statements, "memory_ms": memory_ms,
            "saves_ms": saves_ms, "stack_ms": stack_ms,
            "ratio_ceiling": memory_ms / (memory_ms + commits * floor["median_ms"]),
            "ratio_stack": memory_ms / stack_ms,
            "gap_ms": gap_ms, "after_gap_ms": idle["median_ms"],
            "ratio_stack_after_gap": memory_ms / (uncommitted_ms
                                                  + commits * idle["median_ms"])}


def describe(name: str, row: dict) -> list[str]:
    """The lines ``bench.steps`` prints of :func:`ceiling`'s ``row`` for database ``name``."""
    return [
        f"{name}: a licence lifecycle commits {row['commits_per_lifecycle']:.1f} "
        f"transactions; the smallest durable one takes {row['median_ms']:.2f} ms "
        f"median ({row['p10_ms']:.2f} ms p10), so no lifecycle of durable steps "
        f"beats {row['ratio_ceiling']:.3f} × in-memory here",
        f"{name}: the stack alone — SpiffWorkflow in memory {row['memory_ms']:.2f} "
        f"ms, saving its state after each action {row['saves_ms']:.2f} ms, "
        f"{row['commits_per_lifecycle']:.0f} durable transactions and "
        f"{row['statements_per_lifecycle']:.1f} statements (smallest "
        f"{row['statement_ms']:.3f} ms, {row['statement_cpu_ms']:.3f} ms of client "
        f"CPU) — takes {row['stack_ms']:.2f} ms a lifecycle: "
        f"{row['ratio_stack']:.3f} × in-memory with no platform code at all",
        f"{name}: with the stack's own client work between two transactions "
        f"({row['gap_ms']:.2f} ms; a database server idle meanwhile) the smallest durable "
        f"transaction takes {row['after_gap_ms']:.2f} ms median, and the stack "
        f"alone {row['ratio_stack_after_gap']:.3f} × in-memory",
    ]
