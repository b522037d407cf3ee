"""The machine the benchmark ran on, and the human-readable tables."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import text

PACKAGES = ("SpiffWorkflow", "SQLAlchemy", "psycopg", "endesive", "fpdf2", "holidays")
PG_SETTINGS = ("server_version", "synchronous_commit", "fsync", "shared_buffers")


def _first(path: str, key: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def machine() -> dict:
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": platform.node(), "platform": platform.platform(),
            "cpu": _first("/proc/cpuinfo", "model name") or platform.processor(),
            "cores": os.cpu_count(), "memory": _first("/proc/meminfo", "MemTotal"),
            "python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version,
            "packages": {name: _version(name) for name in PACKAGES}}


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return ""


def postgres_info(p) -> dict:
    with p.db.engine.connect() as conn:
        return {name: conn.execute(text(f"SHOW {name}")).scalar() for name in PG_SETTINGS}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _table(headers: list[str], rows: list[list], align: str = "") -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(row):
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w)
                         for c, w, a in zip(row, widths, align, strict=True))
    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths),
                      *(line(r) for r in cells[1:])])


def _num(x, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def cases_table(cases: dict, baselines: dict[str, str]) -> str:
    """One row per case; the ratio is to the in-memory run of the same diagram."""
    rows = []
    for label, c in cases.items():
        base = cases[baselines[c["diagram"]]]["lifecycles_per_s"]
        ratio = c["lifecycles_per_s"] / base if base else None
        rows.append([label, c["lifecycles"], c["threads"], _num(c["lifecycles_per_s"]),
                     _num(c["ms_per_lifecycle"], 2), _num(c["cpu_ms_per_lifecycle"], 2),
                     f"{ratio:.3f}" if ratio is not None else "-", c["load_after"][0]])
    return _table(["case", "lifecycles", "threads", "lifecycles/s", "ms/lifecycle",
                   "CPU ms/lifecycle", "÷ in-memory", "load"], rows)


def actions_table(cases: dict) -> str:
    names: list[str] = []
    for c in cases.values():
        names += [a for a in c["actions"] if a not in names]
    short = {label: _abbreviate(label) for label in cases}
    rows = [[a] + [_num(c["actions"][a]["mean_ms"], 2) if a in c["actions"] else "-"
                   for c in cases.values()] for a in names]
    return _table(["mean ms per action"] + [short[k] for k in cases], rows)


ABBREVIATIONS = (("PostgreSQL", "PG"), ("in-memory", "memory"), ("no-sign variant", "nosign"),
                 ("no signing", "nosign"), ("with signing", "signed"), (" threads", " thr"),
                 (", ", " "))


def _abbreviate(label: str) -> str:
    for long, short in ABBREVIATIONS:
        label = label.replace(long, short)
    return label


def breakdown_table(rows: list[dict], wall_ms: float) -> str:
    body = [[r["section"], _num(r["calls"], 1) if r["calls"] else "", _num(r["ms"], 2),
             f"{100 * r['share']:.1f}%"] for r in rows]
    body.append(["total (instrumented)", "", _num(wall_ms, 2), "100.0%"])
    return _table(["section (exclusive time)", "calls/lc", "ms/lc", "share"], body)


def profile_table(entries: list[dict], key: str) -> str:
    rows = [[e["function"][-90:], e["calls"], _num(1000 * e["tottime_s"], 1),
             _num(1000 * e["cumtime_s"], 1)] for e in entries]
    return _table([f"function (top by {key})", "calls", "own ms", "cum ms"], rows)
