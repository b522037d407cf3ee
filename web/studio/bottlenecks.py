"""The bottleneck map on a procedure's diagram (điểm nghẽn): each step of its current
version coloured by how long its tasks took over a period — average and 90th percentile —
and the share finished after the step's due time, from the task rows
(:func:`engine.bottlenecks.steps`, the same figures as the leaders' page). The numbers are
also a table, for readers without the drawing."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import gettext as _

from engine import bottlenecks as engine_bottlenecks
from engine import clock, stats, versions
from engine.errors import EngineError
from engine.stats_report import month_periods

from .. import platform
from ..i18n import error_message, localized
from ..leaders import parse_day
from . import analyst_required, assets_installed, bp, catalog

#: How many months the map covers when no period is asked for (as the leaders' trends).
DEFAULT_MONTHS = 6


def _default_period() -> tuple[str, str]:
    today = clock.local_now().date()
    return month_periods(today, DEFAULT_MONTHS)[0].start.isoformat(), today.isoformat()


def _note(step: dict) -> list[str]:
    return [_("TB %(average)s giờ · P90 %(p90)s giờ", average=step["average_hours"],
              p90=step["p90_hours"]),
            _("%(tasks)s việc, quá hạn %(late)s %%", tasks=step["tasks"],
              late=f"{step['share_late'] * 100:.0f}")]


@bp.route("/procedures/<code>/bottlenecks")
@analyst_required
def bottlenecks(code: str):
    """The map for ``start`` … ``end`` (query string; by default the last six months);
    a bad period shows the page again with the reason (4xx)."""
    current = versions.get_version(platform(), code)  # NotFound: a 404 page
    start, end = _default_period()
    values = {"start": request.args.get("start") or start, "end": request.args.get("end") or end}
    error, status, steps = None, 200, []
    try:
        span = stats.period(parse_day(values["start"], "start"), parse_day(values["end"], "end"))
        steps = engine_bottlenecks.steps(platform(), span, procedure_code=code)
    except EngineError as exc:
        error, status = error_message(exc), exc.status
    drawing = {"xml_url": url_for(".diagram", code=code, number=current["number"]),
               "markers": {s["step"]: f"studio-heat-{s['heat']}" for s in steps},
               "notes": [{"element": s["step"], "lines": _note(s)} for s in steps],
               "roles": {r["code"]: localized(r) for r in catalog.known_roles(platform())},
               "labels": {"unknown_role": _("không phải vai trò đã biết")}}
    page = render_template("studio/bottlenecks.html", code=code, current=current, values=values,
                           steps=steps, error=error, drawing=drawing, assets=assets_installed())
    return page, status
