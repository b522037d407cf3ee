"""Embedded sub-processes and call activities (another file of the bundle, the same file)."""

from sqlalchemy import select

from engine.models import Procedure, ProcedureVersion
from tests.engine.elements.kit import (
    complete,
    data,
    deploy,
    finished,
    open_rows,
    submit,
    task_data,
)


def test_embedded_subprocess_and_call_activities(platform):
    procedure = deploy(platform, "subprocesses", extra=("called",))
    with platform.db.transaction() as session:
        version = session.execute(select(ProcedureVersion).join(
            Procedure, Procedure.id == ProcedureVersion.procedure_id)
            .where(Procedure.code == procedure)).scalar_one()
        assert set(version.spec["subprocess_specs"]) == {"prepare", "called_process",
                                                         "same_file_helper"}
    code = submit(platform, procedure)
    [draft] = open_rows(platform, code)  # inside the embedded sub-process, its lane's role
    assert (draft.spec_name, draft.role_code, draft.title) == ("draft", "handler", "Draft")
    complete(platform, code, "draft", {"note": "ok"})
    [approve] = open_rows(platform, code)  # inside the called process (called.bpmn)
    assert (approve.spec_name, approve.role_code) == ("approve_called", "head")
    complete(platform, code, "approve_called", {"approved": True})
    assert finished(platform, code)
    result = data(platform, code)
    assert result["drafted"] == "OK"  # the sub-process's data came back out
    assert result["called_result"] == "approved OK"  # into and out of the called process
    assert result["helper_saw"] == "approved OK"  # the same-file process ran after it


def test_data_objects_hold_values_between_tasks(platform):
    code = submit(platform, deploy(platform, "data_objects"), {"n": 42})
    assert finished(platform, code)
    assert task_data(platform, code, "between").get("licence_no") is None  # not in task data
    assert task_data(platform, code, "read")["copied"] == "GP-42/2026"
    assert data(platform, code)["data_objects"] == {"licence_no": "GP-42"}
