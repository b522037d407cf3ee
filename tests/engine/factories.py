"""Small builders of test data with keyword defaults."""

from __future__ import annotations

from engine import accounts, dossiers
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


__all__ = ["PDF", "submit", "reception_task", "APPLICATION", "PROCEDURE"]
