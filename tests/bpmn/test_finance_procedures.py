"""The Department of Finance's two procedures (DOMAIN.md §1, §5a, §5b) as cooperating dossiers:
a district unit files with its district finance office, which forwards to the Department; the
Department issues the code and signs the certificate, which comes back to the district dossier
and its applicant. Both bundles are data only (bpmn/budget-unit-code, bpmn/investment-project-code).
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pypdf
import pytest
import yaml
from sqlalchemy import select

from engine import accounts, clock, dossiers, registry, tasks, worker
from engine.documents import open_document
from engine.errors import InvalidData, PermissionDenied
from engine.models import CodeSequence, Document, Dossier, Outbox
from signing.pki import trust_roots
from signing.verify import verify_pdf
from tests.scenario import (
    child_codes,
    latest_document,
    open_task,
    run_scenario,
    sample_files,
    the_child,
    workflow_data,
)

REPO = Path(__file__).resolve().parents[2]
THANH_HOA = "000.10.20.H56"  # Phòng Tài chính – Kế hoạch TP Thanh Hóa (phongtc)
BIM_SON = "000.10.21.H56"  # Phòng Tài chính – Kế hoạch TX Bỉm Sơn (no demo officer)
FINANCE = "000.00.13.H56"
THURSDAY = datetime.fromisoformat("2026-12-03T09:00:00+07:00")


def scenario(folder: str, name: str) -> dict:
    return yaml.safe_load((REPO / "bpmn" / folder / "scenarios" / f"{name}.yaml")
                          .read_text(encoding="utf-8"))


def user(p, name: str):
    return accounts.find_user(p, name)


def unit(name: str = "Trường Tiểu học Điện Biên", unit_type: str = "budget_using") -> dict:
    return {**scenario("budget-unit-code", "approve-and-sign")["application"],
            "unit_name": name, "unit_type": unit_type}


def project(**changes) -> dict:
    return {**scenario("investment-project-code", "preparation-code")["application"], **changes}


def submit(p, procedure: str, application: dict, agency: str = THANH_HOA) -> str:
    return dossiers.submit(p, user(p, "donvi"), procedure, application,
                           sample_files(p, procedure), agency_code=agency)["code"]


def complete(p, code: str, spec: str, username: str, data: dict, **kw) -> None:
    row = open_task(p, code, spec)
    if kw.pop("claim", False):
        tasks.claim(p, user(p, username), row.id)
    tasks.complete(p, user(p, username), row.id, data, **kw)


def through_the_department(p, district: str, *, sign: bool = True) -> str:
    """The district office forwards; the Department accepts, appraises, approves (and signs).
    Returns the Department's dossier code."""
    complete(p, district, "D_Check", "phongtc", {"check_decision": "accept"})
    worker.tick(p)
    department = the_child(p, district)
    complete(p, department, "S_Receive", "stc_motcua", {"department_decision": "accept"})
    complete(p, department, "S_Appraise", "stc_chuyenvien",
             {"recommendation": "issue", "appraisal_notes": "Hồ sơ hợp lệ."}, claim=True)
    complete(p, department, "S_Approve", "stc_lanhdao", {"head_decision": "approve"})
    if sign:
        complete(p, department, "S_SignHandler", "stc_chuyenvien", {"confirm": True},
                 passphrase="demo")
        complete(p, department, "S_SignHead", "stc_lanhdao", {"confirm": True}, passphrase="demo")
    worker.tick(p)
    return department


def dossier_row(p, code: str) -> Dossier:
    with p.db.transaction() as session:
        row = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        session.expunge(row)
        return row


def certificate(p, code: str) -> Document:
    return latest_document(p, code, "certificate")


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def sequence(p, name: str) -> int | None:
    with p.db.transaction() as session:
        row = session.get(CodeSequence, name)
        return row.last if row else None


# -- budget-relationship unit code (§5a) --------------------------------------------------

def test_the_signed_certificate_reaches_the_district_unit(platform):
    p = platform
    district = run_scenario(p, scenario("budget-unit-code", "approve-and-sign"))
    department = the_child(p, district)
    code = workflow_data(p, district)["budget_code"]
    assert len(code) == 7 and code.startswith("2") and code.isdigit()  # N = 2: budget-using
    assert dossier_row(p, department).agency_id != dossier_row(p, district).agency_id

    # the district dossier got the Department's signed bytes; its applicant downloads them
    received, issued = certificate(p, district), certificate(p, department)
    assert (received.sha256, received.signatures) == (issued.sha256, 2)
    meta, pdf = open_document(p, user(p, "donvi"), received.id)
    assert meta["name"] == "certificate" and pdf.startswith(b"%PDF")
    report = verify_pdf(pdf, trust_roots(p.pki_dir))
    assert report.ok, report.error
    # the two officers, then the issuing Department's seal
    assert [s.signer for s in report.signatures] == ["Hoàng Văn Thẩm", "Trịnh Quốc Ngân",
                                                     "Sở Tài chính tỉnh Thanh Hóa"]
    assert all(s.intact and s.trusted and not s.modified_after for s in report.signatures)
    text = text_of(pdf)
    for expected in ("GIẤY CHỨNG NHẬN MÃ SỐ ĐƠN VỊ CÓ QUAN HỆ VỚI NGÂN SÁCH", "05A-MSNS-BTC",
                     code, "Trường Tiểu học Điện Biên", "Đơn vị sử dụng ngân sách nhà nước",
                     district, "Sở Tài chính tỉnh Thanh Hóa"):
        assert expected in text, expected

    # the code is on the registry, for that unit, and the district office's officer sees it
    with p.db.transaction() as session:
        [entry] = registry.lookup(session, "budget_unit_code",
                                  "trường tiểu học điện biên | phòng giáo dục và đào tạo tp thanh hóa")
    assert (entry["number"], entry["status"], entry["kind"]) == (code, "active", "budget_using")
    view = dossiers.get_dossier(p, district, user=user(p, "phongtc"))
    assert view["children"] == [department] and "certificate" in {
        d["name"] for d in view["documents"]}
    # the e-mail that returns the result names the code
    with p.db.transaction() as session:
        bodies = session.execute(select(Outbox.body).where(
            Outbox.recipient == "donvi@example.vn")).scalars().all()
    assert any(code in body for body in bodies)


def test_codes_follow_the_unit_type_and_are_never_reused(platform):
    p = platform
    clock.travel_to(THURSDAY)
    codes = []
    for name, kind in [("Trường Tiểu học Quảng Hưng", "budget_using"),
                       ("Trường Tiểu học Quảng Thắng", "budget_using"),
                       ("Phòng Văn hóa và Thông tin", "budget_estimate"),
                       ("Hội Chữ thập đỏ TP Thanh Hóa", "other_related")]:
        district = submit(p, "budget-unit-code", unit(name, kind))
        through_the_department(p, district)
        assert dossier_row(p, district).status == "processed"
        codes.append(workflow_data(p, district)["budget_code"])
    assert codes == ["2000001", "2000002", "1000001", "3000001"]


def test_a_unit_that_already_has_a_code_is_refused_and_no_number_is_spent(platform):
    p = platform
    clock.travel_to(THURSDAY)
    first = submit(p, "budget-unit-code", unit())
    through_the_department(p, first)
    assert workflow_data(p, first)["budget_code"] == "2000001"

    # the same unit (spacing and case aside) files again
    again = submit(p, "budget-unit-code", unit("  trường tiểu học   Điện Biên "))
    department = through_the_department(p, again, sign=False)
    assert dossier_row(p, department).status == "refused"
    assert dossier_row(p, again).status == "refused"
    assert "mỗi đơn vị chỉ có một mã số" in workflow_data(p, again)["reason"]
    assert sequence(p, "budget_unit_code_2") == 1  # nothing issued for the refusal
    third = submit(p, "budget-unit-code", unit("Trường Tiểu học Đông Vệ"))
    through_the_department(p, third)
    assert workflow_data(p, third)["budget_code"] == "2000002"


def test_the_applicant_chooses_a_district_office_and_only_its_officers_see_the_dossier(platform):
    p = platform
    clock.travel_to(THURSDAY)
    with pytest.raises(InvalidData) as err:
        dossiers.submit(p, user(p, "donvi"), "budget-unit-code", unit(),
                        sample_files(p, "budget-unit-code"))
    assert "cơ quan tiếp nhận" in err.value.vi
    with pytest.raises(InvalidData):  # the Department itself does not receive from units
        submit(p, "budget-unit-code", unit(), agency=FINANCE)

    elsewhere = submit(p, "budget-unit-code", unit(), agency=BIM_SON)
    assert elsewhere.startswith(f"{BIM_SON}-")
    assert [t for t in tasks.list_tasks(p, user(p, "phongtc"))
            if t["dossier_code"] == elsewhere] == []
    row = open_task(p, elsewhere, "D_Check")
    with pytest.raises(PermissionDenied):
        tasks.complete(p, user(p, "phongtc"), row.id, {"check_decision": "accept"})
    # nothing reached the Department
    assert child_codes(p, elsewhere) == []


def test_the_department_sees_only_its_own_side(platform):
    p = platform
    clock.travel_to(THURSDAY)
    district = submit(p, "budget-unit-code", unit())
    complete(p, district, "D_Check", "phongtc", {"check_decision": "accept"})
    assert tasks.list_tasks(p, user(p, "stc_motcua")) == []  # not before the worker delivers
    worker.tick(p)
    department = the_child(p, district)
    assert department.startswith(f"{FINANCE}-")
    assert [t["dossier_code"] for t in tasks.list_tasks(p, user(p, "stc_motcua"))] == [department]
    assert [t for t in tasks.list_tasks(p, user(p, "phongtc"))] == []
    # the unit's uploads travelled with the forwarded dossier
    with p.db.transaction() as session:
        names = set(session.execute(select(Document.name).join(Dossier).where(
            Dossier.code == department)).scalars())
    assert {"declaration", "founding_decision"} <= names


# -- investment project code (§5b) ----------------------------------------------------------

def test_a_phase_change_keeps_the_code_and_spends_no_number(platform):
    p = platform
    clock.travel_to(THURSDAY)
    preparation = submit(p, "investment-project-code", project())
    through_the_department(p, preparation)
    code = workflow_data(p, preparation)["project_code"]
    assert code == "7000001"

    change = submit(p, "investment-project-code", project(
        request_kind="phase_change", project_code=code, decision_number="3001/QĐ-UBND"))
    department = through_the_department(p, change)
    assert dossier_row(p, change).status == "processed"
    assert workflow_data(p, change)["project_code"] == code
    assert sequence(p, "investment_project_code_8") is None  # no implementation number spent
    meta, pdf = open_document(p, user(p, "donvi"), certificate(p, change).id)
    text = text_of(pdf)
    assert code in text and "Giai đoạn thực hiện đầu tư" in text and "05B-MSNS-BTC" in text
    assert verify_pdf(pdf, trust_roots(p.pki_dir)).ok

    key = "cải tạo, nâng cấp trường tiểu học điện biên | ban quản lý dự án đầu tư xây dựng tp thanh hóa"
    with p.db.transaction() as session:
        entries = registry.lookup(session, "investment_project_code", key)
    assert [(e["kind"], e["status"], e["number"]) for e in entries] == [
        ("preparation", "closed", code), ("implementation", "active", None)]
    assert entries[1]["attributes"]["code"] == code
    assert entries[1]["attributes"]["phase_changed_by"] == department

    # a second phase change of the same project is refused, with the reason, and so is a code
    # that is not the project's
    twice = submit(p, "investment-project-code", project(request_kind="phase_change",
                                                         project_code=code))
    through_the_department(p, twice, sign=False)
    assert dossier_row(p, twice).status == "refused"
    assert "giai đoạn thực hiện" in workflow_data(p, twice)["reason"]


def test_a_phase_change_with_a_code_that_is_not_the_projects_is_refused(platform):
    p = platform
    clock.travel_to(THURSDAY)
    preparation = submit(p, "investment-project-code", project())
    through_the_department(p, preparation)
    wrong = submit(p, "investment-project-code", project(request_kind="phase_change",
                                                         project_code="7999999"))
    through_the_department(p, wrong, sign=False)
    assert dossier_row(p, wrong).status == "refused"
    assert "không khớp" in workflow_data(p, wrong)["reason"]
    with p.db.transaction() as session:  # the preparation entry is untouched
        entries = registry.lookup(session, "investment_project_code", (
            "cải tạo, nâng cấp trường tiểu học điện biên | "
            "ban quản lý dự án đầu tư xây dựng tp thanh hóa"))
    assert [(e["kind"], e["status"]) for e in entries] == [("preparation", "active")]


def test_a_phase_change_needs_the_code_already_issued(platform):
    p = platform
    clock.travel_to(THURSDAY)
    with pytest.raises(InvalidData) as err:
        submit(p, "investment-project-code", project(request_kind="phase_change"))
    assert any(d.get("field") == "project_code" for d in err.value.details)
