"""Two checkouts' licence lifecycles side by side: the same work at the same time, one on each
core, so that a machine whose speed drifts within minutes slows both alike.

``python -m bench.pinned BEFORE AFTER`` runs, for ``--rounds`` rounds, ``--n`` persisted
lifecycles of the transport business licence (``bench.steps``' no-signing variant, after a
warm-up) in each of the two source trees ``BEFORE`` and ``AFTER`` (e.g. made by ``git
archive``) as two processes started together, each pinned to one core (``taskset``), the
cores swapped every round. It prints each round's client CPU and wall milliseconds per
lifecycle and the median and range of the rounds' ratios AFTER ÷ BEFORE. On SQLite by
default; with ``--database-url`` on PostgreSQL, each tree on its own database named after
it (``<url>_before``, ``<url>_after``: DROPPED and recreated). The database server shares
the two cores with both.

Run one after the other, two runs of the same code here differed by up to a third; side
by side, every round of this round's comparison fell on the same side of 1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: What each pinned process runs, in its tree: a platform, warm-up, then timed lifecycles.
_CHILD = """
import json, sys, tempfile, time
from pathlib import Path
from bench.steps import Target

def main():
    url, n = sys.argv[1], int(sys.argv[2])
    work = Path(tempfile.mkdtemp(prefix="motcua-bench-pinned-"))
    if url == "sqlite":
        url = f"sqlite:///{work}/motcua.sqlite3"
    else:
        from bench.fixtures import recreate_postgres
        url = recreate_postgres(url)
    target = Target("pinned", url, work / "data")
    target.licence(5, 5)
    wall, cpu = time.perf_counter(), time.process_time()
    target.licence(n, 0)
    print(json.dumps({"wall_ms": 1000 * (time.perf_counter() - wall) / n,
                      "cpu_ms": 1000 * (time.process_time() - cpu) / n}))

if __name__ == "__main__":
    main()
"""


def run_round(trees: dict[str, Path], cores: dict[str, int], n: int, urls: dict[str, str],
              script: Path) -> dict[str, dict]:
    """Both trees' lifecycles at once, each on its core; their figures by side."""
    started = {}
    for side, tree in trees.items():
        command = ["taskset", "-c", str(cores[side]), sys.executable, str(script), urls[side],
                   str(n)]
        started[side] = subprocess.Popen(command, cwd=tree,
                                         env={**os.environ, "PYTHONPATH": str(tree)},
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True)
    out = {}
    for side, process in started.items():
        stdout, stderr = process.communicate()
        if process.returncode:
            raise SystemExit(f"{side} ({trees[side]}) failed:\n{stderr[-2000:]}")
        out[side] = json.loads(stdout.strip().splitlines()[-1])
    return out


def summary(rounds: list[dict[str, dict]]) -> dict:
    """The median and range of AFTER ÷ BEFORE over the rounds, for CPU and wall time."""
    out = {}
    for measure in ("cpu_ms", "wall_ms"):
        ratios = sorted(r["after"][measure] / r["before"][measure] for r in rounds)
        out[measure] = {"median": statistics.median(ratios), "low": ratios[0],
                        "high": ratios[-1]}
    return out


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.pinned",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("before", type=Path, help="the source tree measured first in the ratio")
    ap.add_argument("after", type=Path)
    ap.add_argument("--rounds", type=int, default=6, help="rounds, cores swapped each (6)")
    ap.add_argument("--n", type=int, default=100, help="lifecycles per tree per round (100)")
    ap.add_argument("--database-url", default="sqlite",
                    help="'sqlite' (default), or a PostgreSQL URL whose database name gets "
                         "'_before' and '_after' (those databases are DROPPED)")
    return ap.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if shutil.which("taskset") is None:
        raise SystemExit("taskset (util-linux) is needed to pin each tree to a core.")
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for tree in trees.values():
        if not (tree / "bench" / "steps.py").exists():
            raise SystemExit(f"{tree} is not a source tree of this project (no bench/steps.py)")
    urls = {side: args.database_url if args.database_url == "sqlite"
            else f"{args.database_url}_{side}" for side in trees}
    rounds = []
    with tempfile.TemporaryDirectory(prefix="motcua-bench-pinned-") as work:
        script = Path(work) / "pinned_child.py"
        script.write_text(_CHILD, encoding="utf-8")
        for number in range(args.rounds):
            cores = {"before": number % 2, "after": 1 - number % 2}
            start = time.perf_counter()
            figures = run_round(trees, cores, args.n, urls, script)
            rounds.append(figures)
            print(f"round {number + 1}: before {figures['before']['cpu_ms']:.1f} ms CPU "
                  f"(core {cores['before']}), after {figures['after']['cpu_ms']:.1f} ms CPU "
                  f"(core {cores['after']}) per lifecycle; "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
    result = summary(rounds)
    for measure, label in (("cpu_ms", "client CPU"), ("wall_ms", "wall time")):
        row = result[measure]
        print(f"{label} per lifecycle, after ÷ before: {row['median']:.3f} median "
              f"({row['low']:.3f}–{row['high']:.3f}) over {len(rounds)} rounds")
    return {"rounds": rounds, **result}


if __name__ == "__main__":
    main()
