"""Full dossier lifecycles of the transport business licence, in memory and persisted.

What is measured (one run, ``python -m bench.lifecycle`` or ``make bench``): the
lifecycle of bpmn/transport-business-licence/scenarios/approve-and-sign.yaml — submit →
reception accepts → handler claims and appraises → head approves → [licence rendered →]
handler signs → head signs → returned — run N times, timed with ``time.perf_counter``
after a warm-up:

1. **in memory**: the deployed version's specs (the very objects engine.runtime caches)
   run by SpiffWorkflow alone: ``BpmnWorkflow`` with the engine's sandboxed script engine
   whose service calls return ``'{}'``, the same user tasks completed with the same data,
   no database, no serialization. Also for the no-signing variant's specs.
2. **persisted, without signing**: engine.dossiers.submit, engine.tasks.claim/complete (as
   tests/scenario.py does) on PostgreSQL, for a variant bundle deployed under the code
   ``transport-business-licence-nosign`` (bench/fixtures.py: the ``signDocument``
   properties removed, the ``render_document`` and ``issue_slip`` tasks bypassed; every
   other element is the real diagram). Once with one client thread, once with ``--threads``
   threads sharing the batch, and once on SQLite (a file under a temp dir).
3. **persisted, with signing**: the real bundle: the licence rendered to PDF and signed
   twice with endesive and the demo PKI (passphrase ``demo``).

Between actions the harness looks up the open task's id with one indexed query
("lookup (harness)"); it counts in the lifecycle time. Users come from
engine.accounts.find_user once; accounts are created with cheap argon2 parameters.
Then one batch runs with every engine section timed (bench/breakdown.py: exclusive
times that add up to the wall time) and one under cProfile.

Output: tables on stdout and ``bench/results.json`` (machine, versions, PostgreSQL
server settings, load average before/after, every number). The machine may be shared:
the load average is reported, and process CPU time per lifecycle (client side only; the
database server's CPU is not in it) is less sensitive to other load than wall time.

Reproduce: ``make bench`` (or ``.venv/bin/python -m bench.lifecycle --help``) with
PostgreSQL reachable at ``--database-url`` (or ``MOTCUA_BENCH_DATABASE_URL``; default
``postgresql+psycopg://postgres@127.0.0.1:5432/motcua_bench``; that database is DROPPED and
recreated — never point it at data you keep; ``test`` and ``postgres`` are refused). The
schema comes from engine.models (``create_all``, as the test suite does). Without PostgreSQL the PostgreSQL cases
are skipped and signing is measured on SQLite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import breakdown, fixtures, report, runners
from engine.platform import freeze_start_up

DEFAULT_URL = os.environ.get("MOTCUA_BENCH_DATABASE_URL",
                             "postgresql+psycopg://postgres@127.0.0.1:5432/motcua_bench")
#: Persisted ÷ in-memory, same (no-signing) diagram, one client thread (issue 8).
TARGET_RATIOS = {"PostgreSQL, no signing": 0.2, "SQLite, no signing": 0.3}
MEMORY_NOSIGN = "in-memory, no-sign variant"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.lifecycle", description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100, help="persisted lifecycles without signing (100)")
    ap.add_argument("--n-memory", type=int, default=200, help="in-memory lifecycles (200)")
    ap.add_argument("--n-sign", type=int, default=10, help="lifecycles with signing (10)")
    ap.add_argument("--n-sqlite", type=int, default=50, help="SQLite lifecycles (50)")
    ap.add_argument("--n-breakdown", type=int, default=15,
                    help="lifecycles of each timed-sections batch and of the profiled batch (15)")
    ap.add_argument("--threads", type=int, default=2, help="client threads of the concurrent case (2)")
    ap.add_argument("--warmup", type=int, default=3, help="warm-up lifecycles per case (3; 1 with signing)")
    ap.add_argument("--database-url", default=DEFAULT_URL,
                    help="PostgreSQL database to DROP and recreate (default %(default)s)")
    ap.add_argument("--output", type=Path, default=Path(__file__).resolve().parent / "results.json")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    return ap.parse_args(argv)


def postgres_reachable(url: str) -> bool:
    try:
        engine = create_engine(make_url(url).set(database="postgres"))
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception as exc:
        print(f"PostgreSQL not reachable at {url}: {exc.__class__.__name__}; skipping its cases")
        return False


class Target:
    """A platform ready to run lifecycles: users, files and the two procedure codes."""

    def __init__(self, p, scenario: dict):
        self.p = p
        self.scenario = scenario
        self.real = scenario["procedure"]
        self.nosign, self.note = fixtures.deploy_nosign(p)
        self.users = fixtures.users(p, scenario)
        self.files = fixtures.sample_files(p, self.real)

    def run(self, code: str, n: int, warmup: int, threads: int = 1) -> runners.Batch:
        fixtures.switch_specs(self.p)
        if warmup:
            runners.run_persisted(self.p, code, self.users, self.scenario, self.files, warmup)
        return runners.run_persisted(self.p, code, self.users, self.scenario, self.files, n,
                                     threads)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    info = report.machine()
    info["load_before"] = report.load()
    scenario = fixtures.load_scenario()
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-"))
    cases: dict[str, dict] = {}
    out: dict = {"machine": info, "args": {k: str(v) for k, v in vars(args).items()
                                           if k != "output"},
                 "scenario": str(fixtures.SCENARIO.relative_to(fixtures.REPO)), "cases": cases}
    platforms = []
    try:
        pg = sqlite = None
        if postgres_reachable(args.database_url):
            say("PostgreSQL: recreating the database, schema, bundles, accounts, demo PKI")
            fixtures.recreate_postgres(args.database_url)
            pg = Target(fixtures.make_platform(args.database_url, tmp / "pg"), scenario)
            platforms.append(pg.p)
            info["postgresql"] = report.postgres_info(pg.p)
        say("SQLite: a file database under " + str(tmp / "sqlite"))
        pki = pg.p.pki_dir if pg else None
        sqlite = Target(fixtures.make_platform(f"sqlite:///{tmp / 'sqlite' / 'bench.sqlite3'}",
                                               tmp / "sqlite", pki), scenario)
        platforms.append(sqlite.p)
        main_target = pg or sqlite
        out["variant"] = main_target.note
        # as a server process does once its app is made (and bench.steps after its set-up):
        # a full collection would otherwise walk everything set-up built, ~0.2 s each time
        freeze_start_up()

        def record(label: str, diagram: str, summary: dict) -> None:
            cases[label] = {**summary, "diagram": diagram, "load_after": report.load()}

        say(f"in memory: {args.n_memory} lifecycles, real diagram and no-signing variant")
        for label, diagram, code in (("in-memory", "real", main_target.real),
                                     (MEMORY_NOSIGN, "nosign", main_target.nosign)):
            specs = fixtures.active_specs(main_target.p, code)
            runners.run_memory(specs, scenario, main_target.files, max(args.warmup, 1) * 4)
            record(label, diagram, runners.run_memory(specs, scenario, main_target.files,
                                                      args.n_memory).summary())
        if pg:
            say(f"PostgreSQL without signing: {args.n} lifecycles, 1 thread")
            record("PostgreSQL, no signing", "nosign", pg.run(pg.nosign, args.n, args.warmup).summary())
            say(f"PostgreSQL without signing: {args.n} lifecycles, {args.threads} threads")
            record(f"PostgreSQL, no signing, {args.threads} threads", "nosign",
                   pg.run(pg.nosign, args.n, args.warmup, args.threads).summary())
        say(f"SQLite without signing: {args.n_sqlite} lifecycles, 1 thread")
        record("SQLite, no signing", "nosign",
               sqlite.run(sqlite.nosign, args.n_sqlite, args.warmup).summary())

        db_name = "PostgreSQL" if pg else "SQLite"
        say(f"{db_name} without signing: {args.n_breakdown} lifecycles with timed sections")
        out["breakdown"] = sections(main_target, main_target.nosign, args.n_breakdown)
        if pg and args.threads > 1:
            say(f"PostgreSQL without signing: {args.n_breakdown} lifecycles, {args.threads} "
                "threads, with timed sections")
            out["breakdown_threads"] = sections(pg, pg.nosign, args.n_breakdown, args.threads)
        say(f"{db_name} without signing: {args.n_breakdown} lifecycles under cProfile")
        out["profile"] = breakdown.profile(lambda: main_target.run(
            main_target.nosign, args.n_breakdown, 0))
        out["state_size"] = fixtures.state_sizes(main_target.p)
        if args.n_sign:
            say(f"{db_name} with signing: {args.n_sign} lifecycles with timed sections "
                "(after 1 warm-up)")
            main_target.run(main_target.real, 1, 0)
            out["breakdown_signing"] = sections(main_target, main_target.real, args.n_sign)
            record(f"{db_name}, with signing", "real", out["breakdown_signing"].pop("batch"))
    finally:
        for p in platforms:
            p.close()
        if args.keep:
            print(f"data kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    info["load_after"] = report.load()
    out["duration_s"] = time.perf_counter() - started
    out["targets"] = targets(cases)
    args.output.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_report(out)
    print(f"\nresults written to {args.output} ({out['duration_s']:.0f} s)")
    return 0


def sections(target: Target, code: str, n: int, threads: int = 1) -> dict:
    """A batch with every engine section timed; the rows per lifecycle."""
    with breakdown.Sections(target.p.db) as timed:
        batch = target.run(code, n, 0, threads)
    rows = timed.report(batch.wall, n, threads)
    statements = {k: v / n for k, v in sorted(timed.statements.items(), key=lambda kv: -kv[1])}
    return {"lifecycles": n, "threads": threads, "rows": rows,
            "ms_per_lifecycle": 1000 * batch.wall * threads / n,
            "sql_statements_per_lifecycle": statements, "batch": batch.summary()}


def targets(cases: dict) -> dict:
    """The issue's targets: each database's one-thread case without signing against the
    in-memory run of the same (no-signing) diagram."""
    memory = cases[MEMORY_NOSIGN]["lifecycles_per_s"]
    out = {}
    for case, target in TARGET_RATIOS.items():
        if case in cases and memory:
            ratio = cases[case]["lifecycles_per_s"] / memory
            out[case] = {"target": target, "ratio": ratio, "met": ratio >= target}
    return out


def print_report(out: dict) -> None:
    info, cases = out["machine"], out["cases"]
    pg = info.get("postgresql", {})
    print("\n== Một Cửa lifecycle benchmark ==")
    print(f"{info['date']}  {info['cpu']} × {info['cores']} cores, {info['memory']}")
    print(f"Python {info['python']}  " + "  ".join(f"{k} {v}" for k, v in info["packages"].items())
          + (f"  PostgreSQL {pg.get('server_version')} (synchronous_commit={pg.get('synchronous_commit')},"
             f" fsync={pg.get('fsync')})" if pg else "") + f"  SQLite {info['sqlite']}")
    busy = info["load_before"][0] >= (info["cores"] or 1) / 2
    print(f"load average before {info['load_before']}, after {info['load_after']}"
          + ("  (other work was running: wall times may be inflated)" if busy else ""))
    print(f"scenario: {out['scenario']}\nno-signing variant: {out['variant']}\n")
    print(report.cases_table(cases, {"real": "in-memory", "nosign": MEMORY_NOSIGN}))
    print("ms/lifecycle = batch wall time / lifecycles (with threads: the inverse of the "
          "throughput); CPU = this\nprocess's CPU time (engine, ORM, driver; not the database "
          "server's) / lifecycles; ÷ in-memory =\nthroughput relative to the in-memory run of "
          "the same diagram; load = 1-min load average after the case.")
    print("\n" + report.actions_table(cases))
    print("(mean wall ms of one call, per thread; 'lookup (harness)' is the benchmark's own "
          "query for the open task's id)")
    print()
    for case, t in out["targets"].items():
        print(f"target {case} ≥ {t['target']} of in-memory (same diagram): {t['ratio']:.3f} → "
              f"{'MET' if t['met'] else 'MISSED'}")
    for key, title in (("breakdown", "without signing"),
                       ("breakdown_threads", "without signing, concurrent"),
                       ("breakdown_signing", "with signing")):
        if key in out:
            b = out[key]
            print(f"\n-- where the time goes, persisted {title} ({b['lifecycles']} lifecycles, "
                  f"{b['threads']} thread{'s' if b['threads'] > 1 else ''}"
                  f"{'; thread time' if b['threads'] > 1 else ''}) --")
            print(report.breakdown_table(b["rows"], b["ms_per_lifecycle"]))
            if b["threads"] > 1:
                print("(thread time: a section includes waiting for row locks and, after the "
                      "server answered, for the GIL)")
            stmts = ", ".join(f"{k} {v:.1f}" for k, v in b["sql_statements_per_lifecycle"].items())
            print(f"SQL statements per lifecycle: {stmts} "
                  f"(total {sum(b['sql_statements_per_lifecycle'].values()):.0f})")
    size = out["state_size"]
    print(f"\nsaved workflow state (instance.state) of {size['dossiers']} finished dossiers: "
          f"mean {size['mean_chars'] / 1024:.1f} KiB, max {size['max_chars'] / 1024:.1f} KiB "
          "(compressed, as stored)")
    prof = out["profile"]
    print(f"\n-- cProfile, persisted without signing ({prof['total_s']:.2f} s profiled) --")
    print(report.profile_table(prof["cumulative"], "cumulative time; engine, SpiffWorkflow, "
                               "SQLAlchemy, psycopg, signing"))
    print()
    print(report.profile_table(prof["own"][:10], "own time, anywhere"))


if __name__ == "__main__":
    raise SystemExit(main())
