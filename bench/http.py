"""The status look-up over HTTP: ``GET /api/v1/dossiers/{code}`` with a bearer token, as a
national-portal sync or an applicant's app polls it, measured with wrk.

What one run (``python -m bench.http``, ``make bench``) does:

1. drops and recreates the PostgreSQL database ``--database-url`` (default
   ``postgresql+psycopg://postgres@127.0.0.1:5432/motcua_bench_http``, or
   ``MOTCUA_BENCH_HTTP_DATABASE_URL``; names starting with ``test`` and ``postgres`` are
   refused), deploys the transport business licence and its no-signing variant
   (bench/fixtures.py), creates the demo accounts, submits ``--dossiers`` dossiers of the
   variant as the firm ``doanhnghiep`` (every other one moved on by the reception step, so
   the answers carry history, open steps, documents and notifications) and issues the
   firm a bearer token;
2. starts ``motcua serve`` on 127.0.0.1 on a free port — gunicorn with every core (its
   default: one process per CPU) — warms it up, then runs wrk for ``--duration`` seconds
   with ``--connections`` connections and ``--latency``, the requests going round the
   dossiers' codes (a Lua script);
3. the same against ``motcua serve --server waitress`` (one process, its default threads);
4. stops both servers (SIGTERM, then SIGKILL of their own process group if they linger),
   prints a table and writes ``bench/http-results.json`` (machine, commit, wrk's figures,
   the load average before each run, and the CPU per request of the server's processes
   and of the PostgreSQL backends serving them — less sensitive than req/s to other work
   on the machine).

wrk runs on the same machine as the servers and the database: all three share the cores,
as on a one-machine install. Needs wrk (``apt-get install -y wrk``; ``make bench`` does it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import fixtures, report

DEFAULT_URL = os.environ.get("MOTCUA_BENCH_HTTP_DATABASE_URL",
                             "postgresql+psycopg://postgres@127.0.0.1:5432/motcua_bench_http")
OUTPUT = Path(__file__).resolve().parent / "http-results.json"
APPLICANT = "doanhnghiep"
TARGET = {"requests_per_s": 1000, "p99_ms": 20}

LUA = """-- round robin over the dossiers' codes, bearer token on every request
local paths = {%(paths)s}
local i = 0
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["Accept"] = "application/json"
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help="PostgreSQL database to DROP and recreate (default: %(default)s)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per server")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--dossiers", type=int, default=20, help="dossiers to go round")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn processes (default: motcua serve's, one per CPU)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per gunicorn process (default: motcua serve's)")
    parser.add_argument("--skip-waitress", action="store_true",
                        help="measure gunicorn only")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    return parser.parse_args(argv)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def check_database_name(url: str) -> None:
    name = make_url(url).database or ""
    if not name or name.startswith("test") or name in ("postgres", "root", "template0",
                                                        "template1"):
        raise SystemExit(f"refusing to recreate database {name!r}: it is dropped, use a "
                         "dedicated one such as motcua_bench_http")


def postgres_reachable(url: str) -> bool:
    engine = create_engine(make_url(url).set(database="postgres"))
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def prepare(url: str, data_dir: Path, n: int) -> tuple[list[str], str]:
    """Database, bundles, accounts, ``n`` dossiers and a token: ``(codes, token)``."""
    from engine import accounts, dossiers, tasks

    fixtures.recreate_postgres(url)
    empty_pki = data_dir / "no-pki"
    empty_pki.mkdir(parents=True)
    p = fixtures.make_platform(url, data_dir, pki_dir=empty_pki)  # nothing is signed here
    try:
        code, _note = fixtures.deploy_nosign(p)
        scenario = fixtures.load_scenario()
        firm = accounts.find_user(p, APPLICANT)
        files = fixtures.sample_files(p, code)
        first = scenario["steps"][0]
        officer = accounts.find_user(p, first["as"])
        codes = []
        for i in range(n):
            dossier = dossiers.submit(p, firm, code, scenario["application"], files)["code"]
            if i % 2:
                task_id = fixtures.open_task_id(p, officer, dossier, first["task"])
                if first.get("claim"):
                    tasks.claim(p, officer, task_id)
                tasks.complete(p, officer, task_id, first.get("data", {}))
            codes.append(dossier)
        return codes, accounts.issue_token(p, firm.id)
    finally:
        p.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``motcua serve`` in a process group of its own, stopped on leaving the block."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1",
                   "--port", str(self.port), *args]
        self.handle = log.open("wb")
        self.process = subprocess.Popen(command, cwd=fixtures.REPO, env=env,
                                        stdout=self.handle, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def __enter__(self) -> Server:
        return self

    def wait_ready(self, path: str, token: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited ({self.process.returncode}): "
                                 f"{self.log.read_text(errors='replace')[-2000:]}")
            try:
                request = urllib.request.Request(self.base + path,
                                                 headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    return json.loads(response.read())
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the group we started
                self.process.wait(timeout=10)
        self.handle.close()


def cpu_seconds(pgid: int, database: str) -> tuple[float, float]:
    """User + system CPU seconds of the live processes of process group ``pgid`` (the
    server's master and workers) and of the PostgreSQL backends connected to ``database``
    (their command line names it), from Linux /proc (zeros elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    server = backends = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            used = int(fields[11]) + int(fields[12])  # utime, stime
            if int(fields[2]) == pgid:  # after the name: state, ppid, pgrp, …
                server += used
            elif (proc / "cmdline").read_bytes().startswith(b"postgres: ") and \
                    f" {database} ".encode() in (proc / "cmdline").read_bytes():
                backends += used
        except (OSError, IndexError, ValueError):
            continue
    return server / tick, backends / tick


def run_wrk(base: str, script: Path, *, duration: int, connections: int,
            threads: int) -> dict:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
               "--timeout", "5s", "-s", str(script), base]
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60,
                            check=True)
    return parse_wrk(result.stdout) | {"command": " ".join(command[:-3] + ["-s", script.name,
                                                                          "URL"])}


def parse_wrk(output: str) -> dict:
    """Requests per second, the latency percentiles and the errors of wrk's report."""
    def ms(value: str, unit: str) -> float:
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    latency = {f"p{pct}": ms(value, unit) for pct, value, unit in
               re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)}
    requests = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    return {"requests_per_s": round(float(rate.group(1)), 1) if rate else None,
            "requests": int(requests.group(1)) if requests else None,
            "latency_ms": {k: round(v, 2) for k, v in sorted(latency.items())},
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "socket_errors": dict(zip(("connect", "read", "write", "timeout"),
                                      map(int, errors.groups()), strict=True)) if errors
            else {}, "raw": output}


def measure(name: str, serve_args: list[str], env: dict, script: Path, codes: list[str],
            token: str, args, tmp: Path) -> dict:
    log = tmp / f"{name}.log"
    with Server(serve_args, env, log) as server:
        say(f"{name}: motcua serve {' '.join(serve_args)} on {server.base}")
        first = server.wait_ready(f"/api/v1/dossiers/{codes[0]}", token)
        assert first["code"] == codes[0] and first["history"], first
        banner = next((line for line in log.read_text(errors="replace").splitlines()
                       if line.startswith("Serving on")), "")
        run_wrk(server.base, script, duration=2, connections=args.connections,
                threads=args.wrk_threads)  # warm-up: every process, its caches and pools
        say(f"{name}: wrk {args.duration} s, {args.connections} connections")
        load = report.load()
        database = make_url(args.database_url).database
        before = cpu_seconds(server.process.pid, database)
        result = run_wrk(server.base, script, duration=args.duration,
                         connections=args.connections, threads=args.wrk_threads)
        after = cpu_seconds(server.process.pid, database)
        n = result["requests"] or 0
        result["server_cpu_ms_per_request"] = round(1000 * (after[0] - before[0]) / n, 3) \
            if n else None
        result["database_cpu_ms_per_request"] = round(1000 * (after[1] - before[1]) / n, 3) \
            if n else None
        result["load_before"] = load
        result["server"] = banner.split(" with ", 1)[-1].split("  (")[0]
        result["serve_args"] = serve_args
    say(f"{name}: {result['requests_per_s']} req/s, p50 {result['latency_ms'].get('p50')} ms, "
        f"p99 {result['latency_ms'].get('p99')} ms, non-2xx {result['non_2xx']}, CPU per "
        f"request: server {result['server_cpu_ms_per_request']} ms, database backends "
        f"{result['database_cpu_ms_per_request']} ms")
    return result


def commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=fixtures.REPO,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=fixtures.REPO, capture_output=True, text=True).stdout
        return out + ("+uncommitted changes" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None) -> int:
    args = parse_args(argv)
    check_database_name(args.database_url)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (make bench does it)")
    if not postgres_reachable(args.database_url):
        raise SystemExit(f"PostgreSQL is not reachable at {args.database_url}")
    info = report.machine()
    info["load_before"] = report.load()
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-http-"))
    try:
        say(f"PostgreSQL: recreating {make_url(args.database_url).database}, "
            f"{args.dossiers} dossiers, a token")
        data_dir = tmp / "data"
        codes, token = prepare(args.database_url, data_dir, args.dossiers)
        script = tmp / "lookup.lua"
        script.write_text(LUA % {"paths": ", ".join(f'"/api/v1/dossiers/{c}"' for c in codes),
                                 "token": token})
        env = {**os.environ, "MOTCUA_DATABASE_URL": args.database_url,
               "MOTCUA_DATA_DIR": str(data_dir), "MOTCUA_SECRET_KEY": "bench",
               "MOTCUA_BPMN_DIR": str(data_dir / "bpmn"),
               # Nothing is sealed here, but serve refuses to start without a passphrase.
               "MOTCUA_AGENCY_KEY_PASSPHRASE": os.environ.get("MOTCUA_AGENCY_KEY_PASSPHRASE",
                                                              "bench")}
        gunicorn_args = ["--server", "gunicorn"]
        if args.workers:
            gunicorn_args += ["--workers", str(args.workers)]
        if args.threads:
            gunicorn_args += ["--threads", str(args.threads)]
        results = {"gunicorn": measure("gunicorn", gunicorn_args, env, script, codes, token,
                                       args, tmp)}
        if not args.skip_waitress:
            results["waitress"] = measure("waitress", ["--server", "waitress"], env, script,
                                          codes, token, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["load_after"] = report.load()
    out = {"machine": info, "commit": commit(),
           "request": "GET /api/v1/dossiers/{code} with Authorization: Bearer, "
                      f"round robin over {len(codes)} dossiers",
           "wrk": {"duration_s": args.duration, "connections": args.connections,
                   "threads": args.wrk_threads},
           "target": TARGET, "results": results}
    args.output.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print()
    print(report._table(["server", "req/s", "p50 ms", "p90 ms", "p99 ms", "non-2xx",
                         "server CPU ms/req", "db CPU ms/req", "load before"],
                        [[f"{name}: {r['server']}", r["requests_per_s"],
                          r["latency_ms"].get("p50"), r["latency_ms"].get("p90"),
                          r["latency_ms"].get("p99"), r["non_2xx"],
                          r["server_cpu_ms_per_request"], r["database_cpu_ms_per_request"],
                          r["load_before"][0]]
                         for name, r in results.items()]))
    print(f"\ntarget: >= {TARGET['requests_per_s']} req/s, p99 <= {TARGET['p99_ms']} ms; "
          f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
