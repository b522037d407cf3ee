"""BPMN data stores, scoped to the procedure: every dossier of the procedure (any version)
reads and writes the same value of a store, in its step's transaction.

A ``bpmn:dataStore`` of any name is one of these (:data:`ANY_NAME`); a data input association
from its ``bpmn:dataStoreReference`` copies the stored value into the task's data under the
store's id, an output association writes the task's value back and removes it from the task
data. The row is locked when read (PostgreSQL ``FOR UPDATE``; SQLite serialises writers), so
two dossiers that read, change and write a store one after the other lose nothing. Outside a
dossier (deploy checks, the conformance runner) a store reads as empty and keeps what is
written in the workflow only.
"""

from __future__ import annotations

from copy import deepcopy

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.bpmn.specs.data_spec import BpmnDataStoreSpecification
from sqlalchemy import select

from . import clock
from .models import ProcedureDataStore


def _step(my_task):
    engine = my_task.workflow.top_workflow.script_engine
    return getattr(engine, "step", None)


class ProcedureStore(BpmnDataStoreSpecification):
    """A data store whose value lives in ``procedure_data_store``."""

    def get(self, my_task) -> None:
        step = _step(my_task)
        if step is None:
            value = my_task.workflow.top_workflow.data_objects.get(self.bpmn_id)
        else:
            row = step.session.execute(
                select(ProcedureDataStore).where(
                    ProcedureDataStore.procedure_id == step.version.procedure_id,
                    ProcedureDataStore.name == self.bpmn_id).with_for_update()).scalar()
            value = row.value if row is not None else None
        my_task.data[self.bpmn_id] = deepcopy(value)

    def set(self, my_task) -> None:
        if self.bpmn_id not in my_task.data:
            raise WorkflowDataException(
                f"data store {self.bpmn_id!r} cannot be written: the task has no value of "
                "that name", my_task, data_output=self)
        value = deepcopy(my_task.data.pop(self.bpmn_id))
        step = _step(my_task)
        if step is None:
            my_task.workflow.top_workflow.data_objects[self.bpmn_id] = value
            return
        key = (step.version.procedure_id, self.bpmn_id)
        row = step.session.get(ProcedureDataStore, key)
        if row is None:
            step.session.add(ProcedureDataStore(procedure_id=key[0], name=key[1], value=value,
                                                updated_at=clock.now()))
        else:
            row.value, row.updated_at = value, clock.now()
        step.session.flush()


class _AnyName(dict):
    """The parser's table of data store classes: every name is a procedure store."""

    def __contains__(self, name) -> bool:
        return True

    def __getitem__(self, name):
        return ProcedureStore


ANY_NAME = _AnyName()
