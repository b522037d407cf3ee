"""A test run of one dossier on the analyst's draft: sample data, decisions by hand, the
path drawn on the diagram.

The run is kept in the analyst's session as its inputs only (the sample application,
its start, the decisions taken); every page replays them on the draft with
:func:`engine.testrun.run`. Nothing is stored anywhere else: no dossier, no task, no
e-mail; starting over or signing out forgets it.
"""

from __future__ import annotations

import json
from datetime import datetime

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine import clock, testrun
from engine.errors import InvalidBundle, InvalidData

from .. import platform
from ..formparse import parse_form
from ..formrender import render_form
from ..i18n import current_lang, error_message, format_moment
from . import analyst_required, assets_installed, bp
from .editor import diagram_name, localized, roles_by_name, working_copy

KEY = "studio_test_run"


def _current(code: str, number: int) -> dict | None:
    run = session.get(KEY)
    return run if run and run.get("code") == code and run.get("number") == number else None


def _back(code: str, number: int):
    return redirect(url_for(".test_run", code=code, number=number))


@bp.route("/procedures/<code>/versions/<int:number>/test-run")
@analyst_required
def test_run(code: str, number: int):
    """The run so far on the diagram, the steps waiting for a decision with their forms;
    with no run yet, the sample data to start one with."""
    version, _draft, files = working_copy(code, number)
    run = _current(code, number)
    if run is None:
        sample = testrun.sample_application(files, version.get("meta") or {})
        return render_template("studio/test_run.html", code=code, version=version, run=None,
                               sample=json.dumps(sample, ensure_ascii=False, indent=2))
    try:
        result = testrun.run(platform(), files, application=run["application"],
                             started_at=datetime.fromisoformat(run["started_at"]),
                             decisions=run["decisions"])
    except InvalidBundle as exc:
        flash(error_message(exc), "error")
        return render_template("studio/test_run.html", code=code, version=version, run=run,
                               result=None)
    roles = {r["code"]: r["name"] for r in roles_by_name()}
    lang = current_lang()
    steps = []
    for item in result["ready"]:
        form = result["files"].get(item["form"] or "")
        schema = json.loads(form) if form else {"type": "object", "properties": {}}
        steps.append({**item, "role_label": roles.get(item["role"], item["role"]),
                      "form_html": render_form(schema, None, None, lang=lang)})
    drawing = {
        "bpmn": result["files"].get(diagram_name(version), ""),
        "completed": result["path"], "taken_flows": result["flows"],
        "active": [{"element": s["element"], "role_label": s["role_label"], "holder": ""}
                   for s in steps],
        "timers": [{**t, "due_label": format_moment(t["due_at"])} for t in result["timers"]],
        "labels": {"holder": _("Chờ quyết định"), "role": _("Vai trò:"), "due": _("Hạn:"),
                   "unclaimed": "", "timer": _("Hẹn giờ:"),
                   "unknown_role": _("không phải vai trò đã biết")},
        "roles": roles,
    }
    stop = localized([result["stop"]])[0] if result["stop"] else None
    return render_template("studio/test_run.html", code=code, version=version, run=run,
                           result=result, steps=steps, stop=stop, drawing=drawing,
                           timers=drawing["timers"], assets=assets_installed())


@bp.route("/procedures/<code>/versions/<int:number>/test-run", methods=("POST",))
@analyst_required
def test_run_act(code: str, number: int):
    """``action``: ``start`` (with the sample ``application`` as JSON), ``decide`` (a
    step's form), ``timer`` (let a timer fire), ``reset`` (forget the run)."""
    _version, _draft, files = working_copy(code, number)
    action = request.form.get("action")
    if action == "reset":
        session.pop(KEY, None)
        return _back(code, number)
    if action == "start":
        try:
            application = json.loads(request.form.get("application") or "{}")
            assert isinstance(application, dict)
        except (ValueError, AssertionError):
            flash(_("Dữ liệu mẫu phải là một đối tượng JSON, ví dụ {\"ten\": \"…\"}."), "error")
            return _back(code, number)
        session[KEY] = {"code": code, "number": number, "application": application,
                        "started_at": clock.now().isoformat(), "decisions": []}
        return _back(code, number)
    run = _current(code, number)
    if run is None:
        return _back(code, number)
    if action == "timer":
        decision = {"timer": request.form.get("element", "")}
    else:
        element = request.form.get("element", "")
        form = request.form.get("form") or ""
        schema = json.loads(files[form]) if form in files else {"type": "object",
                                                                  "properties": {}}
        data, _uploads = parse_form(schema, request.form, request.files)
        decision = {"task": element, "data": data}
    decisions = [*run["decisions"], decision]
    try:
        result = testrun.run(platform(), files, application=run["application"],
                             started_at=datetime.fromisoformat(run["started_at"]),
                             decisions=decisions)
    except InvalidData as exc:
        flash(error_message(exc), "error")
        return _back(code, number)
    except InvalidBundle as exc:
        flash(error_message(exc), "error")
        return _back(code, number)
    if result["applied"] == len(decisions):
        session[KEY] = {**run, "decisions": decisions}
    return _back(code, number)
