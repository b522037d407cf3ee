"""The bottleneck map (điểm nghẽn): for each step of each procedure, how long its tasks
took over a period — average and 90th percentile, in hours from the task's creation to its
completion — and the share completed after the step's own due time. Computed from the
``human_task`` rows alone (indexed, never a workflow loaded). The applicant's own steps
(supplementing) are left out: the clock stands still then.

Each step also has a ``heat`` from 1 (cool) to 3 (hot), the colour the leaders' page and
the studio's diagram give it: by its 90th-percentile time beside the slowest step of the
same map, raised by its share late (10 % late makes it at least warm, 30 % hot)."""

from __future__ import annotations

import math

from sqlalchemy import select

from .models import Dossier, HumanTask, Procedure
from .stats import Period, agency_scope
from .vocabulary import RoleCode


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (not empty): the smallest value with at
    least ``share`` of them at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def steps(p, span: Period, *, agency_code: str | None = None, procedure_code: str | None = None,
          with_sub_agencies: bool = True) -> list[dict]:
    """``{procedure, step, title, role, tasks, average_hours, p90_hours, late, share_late,
    heat}`` per step whose tasks were completed in ``span``, slowest (p90) first."""
    with p.db.read() as session:
        scope = agency_scope(session, agency_code, with_sub_agencies)
        query = (select(Procedure.code, HumanTask.spec_name, HumanTask.title, HumanTask.role_code,
                        HumanTask.created_at, HumanTask.completed_at, HumanTask.due_at)
                 .join(Dossier, Dossier.id == HumanTask.dossier_id)
                 .join(Procedure, Procedure.id == Dossier.procedure_id)
                 .where(HumanTask.status == "completed", HumanTask.completed_at >= span.lo,
                        HumanTask.completed_at < span.hi, HumanTask.role_code != RoleCode.APPLICANT))
        if scope is not None:
            query = query.where(Dossier.agency_id.in_(scope))
        if procedure_code:
            query = query.where(Procedure.code == procedure_code)
        rows = session.execute(query).all()
    groups: dict[tuple[str, str], list] = {}
    for row in rows:
        groups.setdefault((row.code, row.spec_name), []).append(row)
    out = [_step(code, spec, tasks) for (code, spec), tasks in groups.items()]
    slowest = max((s["p90_hours"] for s in out), default=0.0)
    for s in out:
        s["heat"] = heat(s, slowest)
    return sorted(out, key=lambda s: (-s["p90_hours"], s["procedure"], s["step"]))


def heat(step: dict, slowest: float) -> int:
    """1, 2 or 3: a third of the slowest p90 or less is cool, over two thirds hot; 10 %
    of the step's tasks late makes it at least warm, 30 % hot."""
    share = step["p90_hours"] / slowest if slowest > 0 else 0.0
    by_time = 3 if share > 2 / 3 else 2 if share > 1 / 3 else 1
    by_late = 3 if step["share_late"] >= 0.3 else 2 if step["share_late"] >= 0.1 else 1
    return max(by_time, by_late)


def _step(code: str, spec: str, tasks: list) -> dict:
    hours = [max(0.0, (t.completed_at - t.created_at).total_seconds() / 3600) for t in tasks]
    late = sum(1 for t in tasks if t.due_at is not None and t.completed_at > t.due_at)
    return {"procedure": code, "step": spec, "title": tasks[-1].title, "role": tasks[-1].role_code,
            "tasks": len(tasks), "average_hours": round(sum(hours) / len(hours), 1),
            "p90_hours": round(percentile(hours, 0.9), 1), "late": late,
            "share_late": round(late / len(tasks), 4)}
