"""Worker processes that run diagram scripts under hard CPU and memory limits.

The sandbox (:mod:`engine.sandbox`) bounds what a script may build and counts its steps, but
it runs in the step's own thread, and a builtin running in C cannot be interrupted. What the
sandbox cannot prove cheap is therefore sent here: each worker process sets
``RLIMIT_AS`` (memory) once and, before every script, ``RLIMIT_CPU`` to the CPU it has used
plus ``cpu_seconds``; the kernel ends a worker that passes either (``SIGXCPU`` or an
allocation failure), and one that does not answer in ``3 × cpu_seconds + 2`` seconds of
wall time is killed — counted from when the worker said it was ready, so that a worker
starting on a loaded machine does not count against the script. The step then fails with
a :class:`~engine.errors.ScriptError`, the worker is replaced, and the other requests, whose scripts run in-process or in the other
workers, go on. A worker runs one script at a time; ``workers`` of them serve a process.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import threading
from typing import Any

from .errors import ScriptError

WALL_FACTOR = 3
WALL_EXTRA = 2.0
#: Wall seconds a new worker may take to start (a process forked by the forkserver,
#: importing the sandbox): on a loaded machine a second or more, and not the script's time.
STARTUP_SECONDS = 60.0
READY = ("ready",)


def run_job(recipe: tuple, source: str, mode: str, context: dict, timeout: float,
            max_steps: int) -> Any:
    """A pooled run, in the worker process: the functions built from ``recipe``, then the
    value (``eval``) or the changed context (``exec``)."""
    import importlib

    from .sandbox import RestrictedEvaluator

    target, args = recipe
    module, name = target.split(":")
    functions = getattr(importlib.import_module(module), name)(*args)
    evaluator = RestrictedEvaluator(functions, timeout=timeout, max_loop_iterations=max_steps)
    if mode == "eval":
        return evaluator.evaluate(source, context)
    evaluator.execute(source, context)
    return context


def _serve(conn, memory_bytes: int, cpu_seconds: float) -> None:
    """A worker's loop: one job at a time, each under a fresh CPU allowance."""
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a worker ends

    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    conn.send(READY)  # the script's time counts from here, not from the process's start
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        usage = resource.getrusage(resource.RUSAGE_SELF)
        allowed = int(usage.ru_utime + usage.ru_stime + cpu_seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (allowed, hard))
        try:
            answer = ("ok", run_job(*job))
        except ScriptError as exc:
            answer = ("error", exc.message, exc.vi, exc.details)
        except BaseException as exc:  # noqa: BLE001 - any failure goes back as the step's error
            answer = ("error", f"{type(exc).__name__}: {exc}", None, None)
        try:
            conn.send(answer)
        except Exception as exc:  # noqa: BLE001 - e.g. a value that cannot be pickled
            conn.send(("error", f"the script's result cannot be kept: {exc}", None, None))


class _Worker:
    def __init__(self, ctx, memory_bytes: int, cpu_seconds: float, serve=_serve) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(child, memory_bytes, cpu_seconds),
                                   daemon=True, name="motcua-script")
        self.process.start()
        child.close()
        self.ready = False

    def wait_ready(self) -> None:
        """Wait for a new worker to say it is ready (EOFError if it does not)."""
        if not self.ready:
            if not self.conn.poll(STARTUP_SECONDS) or self.conn.recv() != READY:
                raise EOFError
            self.ready = True

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.join(5)
        finally:
            self.conn.close()


def _limit_error(cpu_seconds: float, memory_mb: int) -> ScriptError:
    return ScriptError(
        f"The script was stopped: it passed its limit of {cpu_seconds:g} s of processor time "
        f"or {memory_mb} MB of memory",
        vi=f"Kịch bản bị dừng: vượt giới hạn {cpu_seconds:g} giây xử lý hoặc {memory_mb} MB "
           "bộ nhớ",
        details=[{"line": None, "message": "stopped at its CPU or memory limit"}])


class ScriptPool:
    """``workers`` processes, started when first needed; :meth:`run` blocks for a free one."""

    #: A worker's loop (a module-level function: the forkserver imports it by name).
    serve = staticmethod(_serve)

    def __init__(self, workers: int = 2, cpu_seconds: float = 2.0, memory_mb: int = 512):
        self.workers = workers
        self.cpu_seconds = cpu_seconds
        self.memory_mb = memory_mb
        self._free: list[_Worker] = []
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(["engine.sandbox"])
        self._pid = os.getpid()

    def run(self, recipe: tuple, source: str, mode: str, context: dict, timeout: float,
            max_steps: int) -> Any:
        """Run one script (see :func:`run_job`) in a worker; its value, or the
        changed context for ``exec``. Raises :class:`ScriptError`."""
        with self._slots:
            worker = self._take()
            try:
                try:
                    worker.wait_ready()
                except (EOFError, OSError):
                    worker.kill()
                    raise ScriptError(
                        "No script worker could be started; try again in a moment.",
                        vi="Không khởi động được tiến trình chạy kịch bản; hãy thử lại sau "
                           "giây lát.") from None
                worker.conn.send((recipe, source, mode, context, timeout, max_steps))
                if not worker.conn.poll(self.cpu_seconds * WALL_FACTOR + WALL_EXTRA):
                    raise EOFError
                answer = worker.conn.recv()
            except (EOFError, OSError):  # ended by its rlimit, or killed for the wall time
                worker.kill()
                raise _limit_error(self.cpu_seconds, self.memory_mb) from None
            except BaseException:
                worker.kill()
                raise
            with self._lock:
                self._free.append(worker)
        if answer[0] == "ok":
            return answer[1]
        _, message, vi, details = answer
        raise ScriptError(message, vi=vi or message, details=details)

    def start(self) -> None:
        """Start every worker now (a server does so at start-up, so that the first heavy
        script does not wait for a process to start)."""
        with self._lock:
            while len(self._free) < self.workers:
                self._free.append(_Worker(self._ctx, self.memory_mb * 1024 * 1024,
                                          self.cpu_seconds, self.serve))

    def _take(self) -> _Worker:
        with self._lock:
            while self._free:
                worker = self._free.pop()
                if worker.process.is_alive():
                    return worker
                worker.conn.close()
        return _Worker(self._ctx, self.memory_mb * 1024 * 1024, self.cpu_seconds, self.serve)

    def close(self) -> None:
        with self._lock:
            workers, self._free = self._free, []
        for worker in workers:
            worker.kill()


_shared: dict[tuple, ScriptPool] = {}
_shared_lock = threading.Lock()


def shared(settings) -> ScriptPool | None:
    """This process's pool for ``settings`` (None when ``script_workers`` is 0: every script
    then runs in-process, under the sandbox's own limits only)."""
    if settings.script_workers <= 0:
        return None
    key = (os.getpid(), settings.script_workers, settings.script_cpu_seconds,
           settings.script_memory_mb)
    with _shared_lock:
        pool = _shared.get(key)
        if pool is None:
            pool = _shared[key] = ScriptPool(settings.script_workers,
                                             settings.script_cpu_seconds,
                                             settings.script_memory_mb)
        return pool
