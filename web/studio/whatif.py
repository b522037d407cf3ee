"""What-if before deploying: replay finished dossiers on the analyst's draft, as a job.

The analyst chooses the dossiers (finished in the last N months, default 3, or the last
N); the replay (:func:`engine.whatif.replay`) runs on a background thread, writing its
progress and finally its report to a small JSON file of the analyst's under the data
directory (``studio-whatif/<user id>/<job>.json``) — scratch work like drafts, shared by
the web processes as the data directory is, never a database row. The job's page
refreshes itself while the job runs, then shows the report beside the draft's diff.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from flask import abort, g, redirect, render_template, request, url_for

from engine import clock, versions, whatif
from engine.errors import EngineError, InvalidBundle

from .. import platform
from ..i18n import current_lang
from . import analyst_required, bp
from .editor import localized, roles_by_name, working_copy

log = logging.getLogger(__name__)
MAX_MONTHS = 36
STALE_SECONDS = 600  # a running job writes its progress at least this often


def _job_path(user_id: int, job: str) -> Path:
    if len(job) != 16 or any(c not in "0123456789abcdef" for c in job):
        abort(404)
    return Path(platform().settings.data_dir) / "studio-whatif" / str(int(user_id)) / f"{job}.json"


def _save(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".whatif-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(state, out, ensure_ascii=False, default=str)
    os.replace(tmp, path)


def _run(p, path: Path, state: dict, code: str, files: dict, since, limit) -> None:
    """The job: the replay with its progress written as it goes."""

    def progress(done: int, total: int) -> None:
        if done == total or done % 10 == 0:
            _save(path, {**state, "done": done, "total": total})

    try:
        report = whatif.replay(p, code, files, since=since, limit=limit, progress=progress)
        _save(path, {**state, "state": "done", "done": report["dossiers"],
                     "total": report["dossiers"], "report": report})
    except InvalidBundle as exc:
        _save(path, {**state, "state": "failed", "error": exc.message, "error_vi": exc.vi,
                     "problems": exc.details})
    except EngineError as exc:
        _save(path, {**state, "state": "failed", "error": exc.message, "error_vi": exc.vi})
    except Exception:  # a bug: logged with its traceback, told to the analyst plainly
        log.exception("what-if replay of %s failed", code)
        _save(path, {**state, "state": "failed", "error": "The replay failed unexpectedly.",
                     "error_vi": "Chạy thử gặp lỗi ngoài dự kiến."})


@bp.route("/procedures/<code>/versions/<int:number>/whatif", methods=("GET", "POST"))
@analyst_required
def whatif_start(code: str, number: int):
    """GET: the choice of dossiers. POST: start the replay of the analyst's draft and go to
    the job's page."""
    version, draft, files = working_copy(code, number)
    if request.method == "GET":
        return render_template("studio/whatif.html", code=code, version=version, job=None,
                               staged=bool(draft and draft.base == number))
    months = request.form.get("months", type=int)
    last = request.form.get("last", type=int)
    limit = last if request.form.get("choice") == "last" and last and last > 0 else None
    since = None
    if limit is None:
        months = min(max(months or whatif.DEFAULT_MONTHS, 1), MAX_MONTHS)
        since = clock.now() - timedelta(days=round(months * 30.44))
    job = secrets.token_hex(8)
    path = _job_path(g.user.id, job)
    state = {"state": "running", "code": code, "number": number, "done": 0, "total": None,
             "months": months if limit is None else None, "last": limit,
             "started_at": clock.now().isoformat(),
             "diff": versions.diff_elements(version["files"], files)}
    _save(path, state)
    threading.Thread(target=_run, args=(platform(), path, state, code, files, since, limit),
                     name=f"whatif-{job}", daemon=True).start()
    return redirect(url_for(".whatif_job", code=code, number=number, job=job))


@bp.route("/procedures/<code>/versions/<int:number>/whatif/<job>")
@analyst_required
def whatif_job(code: str, number: int, job: str):
    """The job's progress (the page refreshes itself while it runs), then its report."""
    path = _job_path(g.user.id, job)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        abort(404)
    if state.get("code") != code or state.get("number") != number:
        abort(404)
    if state.get("state") == "running" and time.time() - path.stat().st_mtime > STALE_SECONDS:
        state.update(state="failed", error="The replay stopped without finishing (was the "
                                             "server restarted?): run it again.",
                     error_vi="Lần chạy thử dừng giữa chừng (máy chủ khởi động lại?): hãy chạy "
                              "lại.")
    version = versions.get_version(platform(), code, number)
    report = state.get("report")
    if report:
        report["stopped"] = localized(report["stopped"])
    roles = {r["code"]: r["name"] for r in roles_by_name()}
    return render_template("studio/whatif.html", code=code, version=version, job=state,
                           report=report, roles=roles, staged=True,
                           error=state.get("error_vi" if current_lang() == "vi" else "error"))
