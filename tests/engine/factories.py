"""Small builders of test data with keyword defaults."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import insert, select

from engine import accounts, clock, dossiers
from engine.demo import TRANSPORT
from engine.models import Agency, Dossier, HumanTask, User
from engine.storage import Upload
from tests.scenario import PDF, open_task, sample_files

APPLICATION = {
    "company_name": "Công ty TNHH Vận tải Hồng Đức",
    "enterprise_code": "2801234567",
    "head_office_address": "Số 12 Lê Lợi, TP Thanh Hóa",
    "legal_representative": "Nguyễn Văn Hồng",
    "phone": "0912345678",
    "email": "doanhnghiep@example.vn",
    "transport_kinds": ["fixed_route"],
    "vehicle_count": 3,
}
PROCEDURE = "transport-business-licence"


def submit(p, *, username: str = "doanhnghiep", data: dict | None = None,
           files: dict[str, Upload] | None = None) -> str:
    user = accounts.find_user(p, username)
    result = dossiers.submit(p, user, PROCEDURE, {**APPLICATION, **(data or {})},
                             sample_files(p, PROCEDURE) if files is None else files)
    return result["code"]


def reception_task(p, code: str) -> int:
    return open_task(p, code, "Task_Receive").id


class TaskRows:
    """Synthetic human_task rows on existing dossiers (the inbox reads rows, not workflows)."""

    def __init__(self, p):
        self.p = p
        with p.db.read() as session:
            self.agency = dict(session.execute(select(Agency.code, Agency.id)).all())
            self.user = dict(session.execute(select(User.username, User.id)).all())
        self.now = clock.now().replace(microsecond=0)

    def add(self, code: str, *, role: str = "handler", agency: str | None = TRANSPORT,
            assignee: str | None = None, due: float | None = 1, status: str = "open") -> int:
        """A task of dossier ``code``; ``due`` in days from now (None: no due date)."""
        with self.p.db.transaction() as session:
            dossier_id = session.execute(select(Dossier.id).where(Dossier.code == code)).scalar()
            return session.execute(insert(HumanTask).values(
                dossier_id=dossier_id, task_guid=str(uuid.uuid4()), spec_name="Task_X",
                title=f"Việc {role}", role_code=role,
                agency_id=self.agency[agency] if agency else None,
                assignee_id=self.user[assignee] if assignee else None, form=None,
                properties={}, status=status, created_at=self.now,
                due_at=None if due is None else self.now + timedelta(days=due))
                .returning(HumanTask.id)).scalar_one()


__all__ = ["PDF", "submit", "reception_task", "APPLICATION", "PROCEDURE", "TaskRows"]
