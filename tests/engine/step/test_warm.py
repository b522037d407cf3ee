"""engine.step.warm: a step takes the workflow this process saved only when the dossier's row
still holds those bytes; anything written elsewhere, rolled back, or not kept exactly by
JSON is restored from the row as every other process would."""

from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import accounts, runtime, tasks
from engine.models import Dossier
from engine.step.warm import WARM
from tests.engine.factories import reception_task, submit
from tests.scenario import check_round_trip, open_task


def dossier_id(p, code: str) -> int:
    with p.db.read() as session:
        return session.execute(select(Dossier.id).where(Dossier.code == code)).scalar()


@contextmanager
def another_process():
    """Steps run here as in another process: they neither see nor leave kept workflows."""
    kept, WARM.items = WARM.items, OrderedDict()
    try:
        yield
    finally:
        WARM.items = kept


def ready_task(step):
    (task,) = step.workflow.get_tasks(state=TaskState.READY, manual=True)
    return task


def test_a_step_after_another_process_moved_the_dossier_starts_from_the_row(platform):
    code = submit(platform)
    assert dossier_id(platform, code) in WARM.items  # the submission kept its workflow
    with another_process():
        tasks.complete(platform, accounts.find_user(platform, "motcua"),
                       reception_task(platform, code), {"reception_decision": "accept"})
    # this process still holds the workflow as submitted: the appraisal is not in it
    appraise = open_task(platform, code, "Task_Appraise").id
    result = tasks.complete(platform, accounts.find_user(platform, "chuyenvien"), appraise,
                            {"recommendation": "approve", "appraisal_notes": "Đủ.",
                             "licence_number": "GP-56-0002"})
    assert result["status"] == "completed"
    assert open_task(platform, code, "Task_Approve")
    check_round_trip(platform, code)


def test_a_step_that_rolls_back_leaves_nothing_for_the_next(platform):
    ident = dossier_id(platform, submit(platform))

    def poison(step):
        ready_task(step).data["poisoned"] = True
        raise RuntimeError("the step fails after changing its workflow")

    with pytest.raises(RuntimeError):
        runtime.run_step(platform, ident, poison, actor="test")
    seen = runtime.run_step(platform, ident, lambda step: dict(ready_task(step).data),
                            actor="test")
    assert "poisoned" not in seen


def test_data_json_does_not_keep_reads_as_every_process_reads_it(platform):
    ident = dossier_id(platform, submit(platform))

    def keep_a_tuple(step):
        ready_task(step).data.update(pair=(1, 2), by_number={7: "bảy"})

    runtime.run_step(platform, ident, keep_a_tuple, actor="test")
    seen = runtime.run_step(platform, ident, lambda step: dict(ready_task(step).data),
                            actor="test")
    with another_process():
        elsewhere = runtime.run_step(platform, ident, lambda step: dict(ready_task(step).data),
                                     actor="test")
    assert seen["pair"] == elsewhere["pair"] == [1, 2]
    assert seen["by_number"] == elsewhere["by_number"] == {"7": "bảy"}
