"""The leaders' page (thống kê, ``/thong-ke``): the Decision 766 scorecard, trends by month,
on-time and online shares by agency and by procedure, the late dossiers and the bottleneck
map, for the province's leadership (role ``leader``) and heads of agencies, each within
their agencies (:mod:`engine.stats_scope`). The same figures as ``GET /api/v1/stats``.

Charts are drawn by Chart.js, installed from npm like bpmn-js (``package.json``) and served
from ``node_modules`` under ``/thong-ke/vendor/``; every chart has a table with the same
numbers, and the page works without it.
"""

from __future__ import annotations

from datetime import date
from io import BytesIO
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    render_template,
    request,
    send_file,
    send_from_directory,
)
from flask_babel import gettext as _

from engine import bottlenecks, clock, procedures, stats, stats_export, stats_report, stats_scope
from engine.errors import EngineError, InvalidData

from . import platform
from .auth import staff_required
from .i18n import error_message

bp = Blueprint("leaders", __name__)
CHART_ASSETS = Path(__file__).resolve().parents[1] / "node_modules" / "chart.js" / "dist"
CHART_FILE = "chart.umd.min.js"


def _assets() -> Path:
    return Path(current_app.config.get("CHART_ASSETS_DIR")
                or platform().settings.chart_assets_dir or CHART_ASSETS)


@bp.route("/vendor/<path:filename>")
def vendor(filename: str):
    """Chart.js's built file (library code: served to anyone, like ``/static``)."""
    if filename != CHART_FILE or not (_assets() / filename).is_file():
        abort(404, description=_("Chưa cài Chart.js: chạy “make setup” (npm ci) rồi tải lại trang."))
    response = send_from_directory(_assets(), filename, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _filters() -> dict:
    args = request.args
    today = clock.local_now().date()
    return {"start": args.get("start") or today.replace(day=1).isoformat(),
            "end": args.get("end") or today.isoformat(),
            "agency": args.get("agency", ""), "procedure": args.get("procedure", ""),
            "sub_agencies": args.get("sub_agencies", "1") != "0"}


def parse_day(value: str, field: str) -> date:
    """A filter's date as year-month-day; InvalidData naming the field otherwise."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidData(f"'{value}' is not a date: use year-month-day.",
                          vi=f"'{value}' không phải ngày: hãy nhập theo dạng năm-tháng-ngày.",
                          details=[{"field": field, "message": "YYYY-MM-DD"}]) from None


def _figures(values: dict) -> dict:
    """Everything the page and the export show, for the filters in ``values``."""
    p = platform()
    agency = stats_scope.resolve(p, g.user, values["agency"] or None)
    values["agency"] = agency
    start, end = parse_day(values["start"], "start"), parse_day(values["end"], "end")
    scope = {"agency_code": agency, "procedure_code": values["procedure"] or None,
             "with_sub_agencies": values["sub_agencies"]}
    indicators = stats.indicators(p, start=start, end=end, **scope)
    span = stats.period(start, end)
    return {"indicators": indicators, "report": stats_report.report(p, span, **scope),
            "steps": bottlenecks.steps(p, span, **scope)}


@bp.route("/")
@staff_required
def page():
    """The page; bad filters show the page again with the reason (4xx)."""
    values = _filters()
    if not stats_scope.may_read(g.user):
        abort(403)
    error, figures = None, None
    try:
        figures = _figures(values)
    except EngineError as exc:
        error, status = error_message(exc), exc.status
    agencies = stats_scope.visible_agencies(platform(), g.user)
    catalogue = procedures.list_procedures(platform())
    return render_template("leaders.html", values=values, figures=figures, error=error,
                           agencies=agencies, procedures=catalogue), (status if error else 200)


@bp.route("/xuat")
@staff_required
def export():
    """The same figures as CSV or XLSX (``format``)."""
    values = _filters()
    try:
        figures = _figures(values)
        name, media_type, content = stats_export.export(
            stats_export.tables(figures["indicators"], figures["report"], figures["steps"]),
            request.args.get("format", ""), f"thong-ke-{values['agency']}-{values['start']}-{values['end']}")
    except EngineError as exc:
        abort(exc.status, description=error_message(exc))
    response = send_file(BytesIO(content), mimetype=media_type, download_name=name,
                         as_attachment=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
