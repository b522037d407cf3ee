"""The step path: a persisted step against SpiffWorkflow alone, on the same diagrams.

``python -m bench.steps`` (part of ``make bench``) runs, in one process and one run so that
the figures are ratios measured side by side on a shared machine:

- **the plain diagram** (``bench/three-tasks``: three user tasks in sequence, one lane
  each, nothing else — a workload any BPMN platform can run): submit, then each task
  completed by an officer of its lane (claiming is implied by completing);
- **the transport business licence**, its no-signing variant (bench/fixtures.py), as in
  ``bench.lifecycle``; and the real bundle's first step, reception accepting a dossier,
  whose slip 01 is rendered and sealed by a job after commit: the request's time with the
  job on a background thread and with it in the request's own thread;

each in memory (SpiffWorkflow alone with the engine's script engine) and persisted on
PostgreSQL and SQLite. For every persisted case it prints lifecycles per second, the ratio
to in-memory (to the in-memory rate measured at the start, as every earlier round did; and
the median of the ratios of alternate blocks of both, measured seconds apart, which a
machine whose speed drifts within minutes moves far less), and per task completion: wall ms, client CPU ms and **SQL round trips**
(statements sent plus the commit, counted with SQLAlchemy's cursor and commit events while
``engine.tasks.complete`` runs: there is no pool pre-ping). Then the saved state per
finished dossier, in bytes as stored, and the persisted licence lifecycle action by action
beside the same actions in memory on the engine's own workflow classes: what the platform
adds to each. Results go to ``bench/steps-results.json``.

Every ratio is to SpiffWorkflow's own ``BpmnWorkflow`` in memory. The engine runs the
library's engine steps on workflow classes of its own (``engine.spiff.MotcuaWorkflow``:
its own walks of the task tree, task logging only when a logger emits it); the licence
in memory on those classes is printed too, so that the share of a ratio owed to the
engine steps being faster than the library's, rather than to the storage, can be read.

Last, **the ceiling** of the ratio on this machine: how many transactions a licence
lifecycle commits (submission, claims and completions; the harness's look-ups are not
counted), and what the smallest durable transaction costs on each database (lock a row,
update it, insert one, commit: PostgreSQL waits for its write-ahead log to reach the disk).
No implementation that commits each action durably can run a lifecycle faster than the
engine in memory plus that many of those transactions, which bounds its ratio. A tighter
bound adds what the stack itself costs with no platform code: SpiffWorkflow saving the
workflow after each action (its serializer, timed in memory beside the runs without it)
and the statements beyond the smallest transactions' own at the driver's floor (the
smallest prepared statement on its cursor). Those floors are measured back to back, with
the server never idle; a lifecycle's client computes between its transactions, and a server
process that has waited that long answers later (on this virtual machine waking an idle
process costs hundreds of microseconds), so the bound is given again with the smallest
transaction measured after as much client work as the stack itself does between two; and
the platform's ratio is given as a share of that bound (``bench/ceiling.py``).

PostgreSQL is expected at ``--database-url`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/motcua_bench_steps``; DROPPED and recreated).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform as host
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, event, func, select

from bench import fixtures, runners
from bench.ceiling import ceiling, describe
from bench.lifecycle import postgres_reachable
from engine import accounts, dossiers, tasks
from engine.bundles import read_folder
from engine.calendar import WorkingCalendar
from engine.models import Dossier, Instance
from engine.platform import freeze_start_up
from engine.procedures import deploy_bundle
from engine.scripting import make_evaluator
from engine.spiff import MotcuaWorkflow, dump_state_checked

HERE = Path(__file__).resolve().parent
PLAIN = HERE / "three-tasks"
PLAIN_STEPS = (("first", "motcua"), ("second", "chuyenvien"), ("third", "lanhdao"))
DEFAULT_URL = os.environ.get("MOTCUA_BENCH_STEPS_DATABASE_URL",
                             "postgresql+psycopg://postgres@127.0.0.1:5432/motcua_bench_steps")


class RoundTrips:
    """Statements and commits sent while ``engine.tasks.complete`` runs, per thread."""

    def __init__(self, db):
        self.db = db
        self.inside = threading.local()
        self.statements = self.commits = self.completions = 0
        self.wall = self.cpu = 0.0

    def __enter__(self):
        self.original = tasks.complete
        event.listen(self.db.engine, "before_cursor_execute", self._statement)
        event.listen(self.db.engine, "commit", self._commit)

        def counted(*args, **kwargs):
            self.inside.on = True
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.inside.on = False
                self.wall += time.perf_counter() - start
                self.cpu += time.thread_time() - cpu
                self.completions += 1

        tasks.complete = counted
        return self

    def _statement(self, *args) -> None:
        if getattr(self.inside, "on", False):
            self.statements += 1

    def _commit(self, *args) -> None:
        if getattr(self.inside, "on", False):
            self.commits += 1

    def __exit__(self, *exc) -> None:
        tasks.complete = self.original
        event.remove(self.db.engine, "before_cursor_execute", self._statement)
        event.remove(self.db.engine, "commit", self._commit)

    def per_completion(self) -> dict:
        n = max(self.completions, 1)
        return {"completions": self.completions,
                "round_trips": (self.statements + self.commits) / n,
                "statements": self.statements / n, "ms": 1000 * self.wall / n,
                "cpu_ms": 1000 * self.cpu / n}


def plain_lifecycle(p, users: dict) -> None:
    code = dossiers.submit(p, users["congdan"], "bench-three-tasks", {"subject": "so sánh"})["code"]
    result = None
    for spec_name, officer in PLAIN_STEPS:
        task_id = fixtures.open_task_id(p, users[officer], code, spec_name)
        result = tasks.complete(p, users[officer], task_id, {"note": "ok"})
    if result["dossier_status"] != "submitted" or not _finished(p, code):
        raise RuntimeError(f"plain lifecycle of {code} did not finish")


def _finished(p, code: str) -> bool:
    """Whether the dossier has finished, read as a client's status look-up reads: one
    statement built once (a statement built per call, in an ORM session, cost the plain
    lifecycle about a tenth of its time, which the in-memory run does not pay)."""
    found = p.db.rows(_FINISHED, {"code": code})
    return bool(found and found[0][0])


_FINISHED = select(Dossier.finished_at).where(Dossier.code == bindparam("code"))


def plain_memory(spec, subs, engine) -> None:
    workflow = BpmnWorkflow(spec, subs, script_engine=engine)
    workflow.do_engine_steps()
    for spec_name, _ in PLAIN_STEPS:
        (task,) = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                   if t.task_spec.bpmn_id == spec_name]
        task.data.update({"note": "ok"})
        task.run()
        workflow.refresh_timers()
        workflow.do_engine_steps()
    if not workflow.completed:
        raise RuntimeError("in memory: the plain workflow did not complete")


def _rate(run, n: int) -> tuple[float, float]:
    """Lifecycles per second and client CPU ms per lifecycle of ``n`` runs."""
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(n):
        run()
    wall = time.perf_counter() - start
    return n / wall, 1000 * (time.process_time() - cpu) / n


class Target:
    """A platform on one database with both diagrams deployed."""

    def __init__(self, label: str, url: str, data_dir: Path, pki_dir: Path | None = None,
                 script_workers: int = 2):
        self.label = label
        self.p = fixtures.make_platform(url, data_dir, pki_dir)
        self.p.settings.script_workers = script_workers
        deploy_bundle(self.p, read_folder(PLAIN), actor="bench")
        self.nosign, _note = fixtures.deploy_nosign(self.p)
        self.scenario = fixtures.load_scenario()
        self.users = {name: accounts.find_user(self.p, name) for name in
                      {"congdan", *(officer for _, officer in PLAIN_STEPS)}}
        self.licence_users = fixtures.users(self.p, self.scenario)
        self.files = fixtures.sample_files(self.p, fixtures.PROCEDURE)
        freeze_start_up()  # as a server process does once its app is made

    def plain(self, n: int, warmup: int) -> dict:
        fixtures.switch_specs(self.p)
        for _ in range(warmup):
            plain_lifecycle(self.p, self.users)
        with RoundTrips(self.p.db) as trips:
            rate, cpu = _rate(lambda: plain_lifecycle(self.p, self.users), n)
        return {"lifecycles_per_s": rate, "cpu_ms_per_lifecycle": cpu, **trips.per_completion()}

    def licence(self, n: int, warmup: int) -> dict:
        fixtures.switch_specs(self.p)
        runners.run_persisted(self.p, self.nosign, self.licence_users, self.scenario,
                              self.files, warmup)
        with RoundTrips(self.p.db) as trips:
            batch = runners.run_persisted(self.p, self.nosign, self.licence_users,
                                          self.scenario, self.files, n)
        return {"lifecycles_per_s": batch.per_second,
                "cpu_ms_per_lifecycle": 1000 * batch.cpu / n, **trips.per_completion(),
                "actions_ms": _per_lifecycle_ms(batch)}

    def interleaved(self, diagram: str, rounds: int, n: int, n_memory: int) -> dict:
        """The ratio to SpiffWorkflow in memory measured in ``rounds`` alternate blocks: ``n``
        persisted lifecycles, then ``n_memory`` in memory (the deployed specs), the ratio of
        each round's two rates. This machine's speed drifts by a third within minutes, and a
        ratio of rates measured a minute apart drifts with it; blocks seconds apart mostly
        share the machine's speed, so their median is the steadier figure."""
        fixtures.switch_specs(self.p)
        if diagram == "plain":
            specs = fixtures.active_specs(self.p, "bench-three-tasks")
            engine = runners.NullServiceEngine(None, make_evaluator(WorkingCalendar()))

            def persisted() -> float:
                return _rate(lambda: plain_lifecycle(self.p, self.users), n)[0]

            def in_memory() -> float:
                return _rate(lambda: plain_memory(*specs, engine), n_memory)[0]
        else:
            specs = fixtures.active_specs(self.p, self.nosign)

            def persisted() -> float:
                fixtures.switch_specs(self.p)
                return runners.run_persisted(self.p, self.nosign, self.licence_users,
                                             self.scenario, self.files, n).per_second

            def in_memory() -> float:
                return runners.run_memory(specs, self.scenario, self.files,
                                          n_memory).per_second
        ratios = []
        for _ in range(rounds):
            gc.collect()
            rate = persisted()
            gc.collect()
            ratios.append(rate / in_memory())
        ratios.sort()
        return {"median": ratios[len(ratios) // 2], "low": ratios[0], "high": ratios[-1],
                "rounds": rounds}

    def accept(self, n: int) -> dict:
        """Accepting a dossier of the real licence (slip 01 rendered and sealed by a job):
        the request's time with the job on a background thread, and with it run in the
        request's thread after commit (the slip inside the request, as before jobs)."""
        from engine import jobs

        step = self.scenario["steps"][0]
        out = {}
        for mode, background in (("background", True), ("in the request", False)):
            self.p.settings.jobs_in_background = background
            times = []
            for _ in range(n + 1):
                code = dossiers.submit(self.p, self.licence_users[self.scenario["applicant"]],
                                       fixtures.PROCEDURE, self.scenario["application"],
                                       self.files)["code"]
                task_id = fixtures.open_task_id(self.p, self.licence_users[step["as"]], code,
                                                     step["task"])
                start = time.perf_counter()
                tasks.complete(self.p, self.licence_users[step["as"]], task_id, step["data"])
                times.append(time.perf_counter() - start)
                if background:  # the slip is made before the next dossier comes
                    jobs._background().submit(lambda: None).result()
            times = sorted(times[1:])
            out[mode] = {"median_ms": 1000 * times[len(times) // 2],
                         "p95_ms": 1000 * times[min(len(times) - 1, int(len(times) * 0.95))]}
        self.p.settings.jobs_in_background = False
        return out

    def state_bytes(self) -> dict:
        with self.p.db.read() as session:
            mean, top, count = session.execute(
                select(func.avg(func.length(Instance.state)), func.max(func.length(Instance.state)),
                       func.count()).join(Dossier, Dossier.id == Instance.dossier_id)
                .where(Dossier.finished_at.is_not(None))).one()
        return {"finished_dossiers": count, "mean_bytes": float(mean or 0),
                "max_bytes": int(top or 0)}


def memory(target: Target, n: int) -> dict:
    """In-memory lifecycles per second of both diagrams (their deployed specs); and of the
    licence saving its workflow after each action as a persisted step must
    (:func:`engine.spiff.dump_state_checked`), alternately with the plain licence runs."""
    engine = runners.NullServiceEngine(None, make_evaluator(WorkingCalendar()))
    spec, subs = fixtures.active_specs(target.p, "bench-three-tasks")
    for _ in range(20):
        plain_memory(spec, subs, engine)
    plain_rate, _ = _rate(lambda: plain_memory(spec, subs, engine), n)
    specs = fixtures.active_specs(target.p, target.nosign)
    licence = runners.run_memory(specs, target.scenario, target.files, n)
    # the saves' cost: warm runs with and without them, alternately (the ratio's
    # denominator above is measured as in every earlier round, for comparison)
    bare, saving, own = [], [], []
    for _ in range(3):
        bare.append(runners.run_memory(specs, target.scenario, target.files, n // 3).per_second)
        saving.append(runners.run_memory(specs, target.scenario, target.files, n // 3,
                                         after=dump_state_checked).per_second)
        own.append(runners.run_memory(specs, target.scenario, target.files, n // 3,
                                      workflow_class=MotcuaWorkflow))
    # the engine's own workflow classes run the library's engine steps with walks and task
    # logging of their own: the part of the ratios that is the engine's, not the storage's
    own_median = sorted(own, key=lambda batch: batch.per_second)[1]
    return {"plain": plain_rate, "licence": licence.per_second,
            "licence_warm": sorted(bare)[1], "licence_saving_state": sorted(saving)[1],
            "licence_engine_classes": own_median.per_second,
            "licence_engine_classes_actions_ms": _per_lifecycle_ms(own_median)}


def _per_lifecycle_ms(batch: runners.Batch) -> dict[str, float]:
    """Wall ms a lifecycle spends in each of ``batch``'s actions (all its times of it)."""
    return {name: 1000 * sum(times) / batch.lifecycles for name, times in batch.actions.items()}


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.steps", description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100, help="persisted lifecycles per case (100)")
    ap.add_argument("--n-memory", type=int, default=500, help="in-memory lifecycles (500)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=7,
                    help="alternate blocks of persisted and in-memory lifecycles for the "
                         "interleaved ratio (7; each a sixth of --n and --n-memory)")
    ap.add_argument("--n-accept", type=int, default=10,
                    help="dossiers accepted with slip 01 per mode (10)")
    ap.add_argument("--database-url", default=DEFAULT_URL,
                    help="PostgreSQL database to DROP and recreate (default %(default)s)")
    ap.add_argument("--script-workers", type=int, default=2,
                    help="script worker processes (2, the default setting); 0 runs every "
                         "script in the step's thread, to measure what the pool costs")
    ap.add_argument("--output", type=Path, default=HERE / "steps-results.json")
    return ap.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="motcua-bench-steps-"))
    out: dict = {"when": datetime.now(UTC).isoformat(timespec="seconds"),
                 "machine": f"{host.processor() or host.machine()} × {os.cpu_count()} cores",
                 "python": host.python_version(), "cases": {}}
    try:
        targets = []
        if postgres_reachable(args.database_url):
            fixtures.recreate_postgres(args.database_url)
            targets.append(Target("PostgreSQL", args.database_url, work / "pg",
                                  script_workers=args.script_workers))
        sqlite_url = f"sqlite:///{work / 'sqlite' / 'motcua.sqlite3'}"
        targets.append(Target("SQLite", sqlite_url, work / "sqlite",
                              targets[0].p.pki_dir if targets else None,
                              script_workers=args.script_workers))
        gc.collect()
        mem = memory(targets[0], args.n_memory)
        out["memory"] = mem
        for target in targets:
            for diagram, run in (("plain", target.plain), ("licence", target.licence)):
                gc.collect()  # the last case's garbage is not this one's cost
                result = run(args.n, args.warmup)
                result["ratio_to_memory"] = result["lifecycles_per_s"] / mem[diagram]
                result["ratio_interleaved"] = target.interleaved(
                    diagram, args.rounds, max(1, args.n // 6), max(1, args.n_memory // 6))
                out["cases"][f"{target.label}, {diagram}"] = result
            out["cases"][f"{target.label}, state"] = target.state_bytes()
            out["cases"][f"{target.label}, ceiling"] = ceiling(target, mem)
            out["cases"][f"{target.label}, accepting"] = target.accept(args.n_accept)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _print(out)
    args.output.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def _print(out: dict) -> None:
    mem = out["memory"]
    print(f"\n== step path ({out['when']}, {out['machine']}, Python {out['python']}) ==")
    print(f"in memory (SpiffWorkflow alone): plain {mem['plain']:.0f} lifecycles/s, "
          f"transport licence (no signing) {mem['licence']:.0f} lifecycles/s, "
          f"({mem['licence_warm']:.0f} warm, {mem['licence_saving_state']:.0f} warm saving the "
          "state after each action)")
    print(f"the licence in memory on the engine's own workflow classes "
          f"(engine.spiff.MotcuaWorkflow): {mem['licence_engine_classes']:.0f} lifecycles/s, "
          f"{mem['licence_warm'] / mem['licence_engine_classes']:.2f}× the library's time "
          "(the ratios below are to the library's)")
    print(f"{'case':<30} {'lifecycles/s':>12} {'÷ memory':>9} {'interleaved':>19} "
          f"{'ms/compl.':>10} {'CPU ms/compl.':>13} {'round trips/compl.':>18}")
    for name, row in out["cases"].items():
        if "lifecycles_per_s" not in row:
            continue
        mixed = row.get("ratio_interleaved")
        mixed_text = (f"{mixed['median']:.3f} ({mixed['low']:.3f}–{mixed['high']:.3f})"
                      if mixed else "")
        print(f"{name:<30} {row['lifecycles_per_s']:>12.1f} {row['ratio_to_memory']:>9.3f} "
              f"{mixed_text:>19} {row['ms']:>10.2f} {row['cpu_ms']:>13.2f} "
              f"{row['round_trips']:>18.2f}")
    print("(÷ memory: this case's rate over the in-memory rate measured at the start; "
          "interleaved: median and range of the ratios of alternate blocks of both)")
    for name, row in out["cases"].items():
        if "background" in row:
            print(f"{name} (Task_Receive, slip 01 as a job): request "
                  f"{row['background']['median_ms']:.0f} ms median, "
                  f"{row['background']['p95_ms']:.0f} ms p95 with the job on a background "
                  f"thread; {row['in the request']['median_ms']:.0f} ms median with it in "
                  "the request's thread")
    for name, row in out["cases"].items():
        if "ratio_ceiling" in row:
            print("\n".join(describe(name, row)))
    _print_actions(out)
    for name, row in out["cases"].items():
        if "mean_bytes" in row:
            print(f"{name}: saved state per finished dossier {row['mean_bytes']:.0f} B mean, "
                  f"{row['max_bytes']} B max ({row['finished_dossiers']} dossiers)")



def _print_actions(out: dict) -> None:
    """Where a persisted licence lifecycle spends its time, action by action, beside the
    same action in memory on the engine's own workflow classes; and the platform's ratio as
    a share of the stack's own bound with the server idle (measured in the same run)."""
    memory_actions = out["memory"]["licence_engine_classes_actions_ms"]
    for label in ("PostgreSQL", "SQLite"):
        licence, bound = out["cases"].get(f"{label}, licence"), out["cases"].get(
            f"{label}, ceiling")
        if licence is None:
            continue
        print(f"{label}, licence, ms a lifecycle by action: persisted / in memory on the "
              "engine's classes / the platform's beyond it")
        actions = licence["actions_ms"]
        for action, persisted in actions.items():
            in_memory = memory_actions.get(action, 0.0)
            print(f"  {action:<28} {persisted:>7.2f} {in_memory:>7.2f} "
                  f"{persisted - in_memory:>7.2f}")
        print(f"  {'lifecycle':<28} {sum(actions.values()):>7.2f} "
              f"{sum(memory_actions.values()):>7.2f} "
              f"{sum(actions.values()) - sum(memory_actions.values()):>7.2f}")
        if bound is not None:
            platform = licence["ratio_interleaved"]["median"]
            idle = bound["ratio_stack_after_gap"]
            print(f"{label}, licence: the platform's {platform:.3f} × in-memory (interleaved) "
                  f"is {100 * platform / idle:.0f} % of the stack alone with the server idle "
                  f"({idle:.3f})")


if __name__ == "__main__":
    main()
