"""The one-stop slips (of the dossier's form set, engine/formsets.py): rendered in Vietnamese on A5, signed
by the agency's seal and trusted by our own roots, attached to the dossier and e-mailed to
the applicant as a PDF attachment that still verifies after the trip through SMTP."""

from __future__ import annotations

import io
import unicodedata
from datetime import datetime, timedelta

import pypdf
import pytest
from sqlalchemy import func, select

from engine import accounts, clock, slip_fields, slips, tasks, worker
from engine.errors import NotFound
from engine.models import AuditEvent, Document, Dossier, Outbox
from signing.pki import trust_roots
from signing.verify import verify_pdf
from tests.engine.factories import submit
from tests.engine.test_outbox import smtp  # noqa: F401  (the aiosmtpd fixture)
from tests.scenario import open_task

AGENCY = "Sở Giao thông vận tải tỉnh Thanh Hóa"
THURSDAY = datetime.fromisoformat("2026-12-03T09:00:00+07:00")


def user(p, name):
    return accounts.find_user(p, name)


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def slip(p, code: str, form: str) -> tuple[Document, bytes]:
    with p.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        doc = session.execute(select(Document).where(
            Document.dossier_id == dossier.id, Document.name == f"slip-{form}")
            .order_by(Document.revision.desc())).scalars().first()
        assert doc is not None, f"no slip {form}"
        session.expunge(doc)
        return doc, p.storage.get(doc.storage_key)


def complete(p, code, spec, username, data, *, claim=False):
    row = open_task(p, code, spec)
    if claim:
        tasks.claim(p, user(p, username), row.id)
    tasks.complete(p, user(p, username), row.id, data)


def assert_agency_signed(p, pdf: bytes):
    report = verify_pdf(pdf, trust_roots(p.pki_dir))
    assert report.ok, report.error
    [signature] = report.signatures
    assert signature.signer == AGENCY and signature.trusted and not signature.modified_after


def test_accepting_issues_a_signed_receipt_e_mailed_with_its_pdf(platform, smtp):  # noqa: F811
    controller, inbox = smtp
    platform.settings.smtp_url = f"smtp://127.0.0.1:{controller.port}"
    clock.travel_to(THURSDAY)
    code = submit(platform)
    complete(platform, code, "Task_Receive", "motcua", {"reception_decision": "accept"})

    doc, pdf = slip(platform, code, "01")
    assert (doc.kind, doc.signatures, doc.filename) == (
        "generated", 1, f"giay-tiep-nhan-ho-so-va-hen-tra-ket-qua-{code}.pdf")
    box = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (420, 595)  # A5
    text = text_of(pdf)
    assert text == unicodedata.normalize("NFC", text)
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                     "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", f"Mã hồ sơ: {code}",
                     "Tiếp nhận hồ sơ của: Công ty TNHH Vận tải Hồng Đức",
                     "Số 12 Lê Lợi, TP Thanh Hóa", "0912345678",
                     "Văn bằng, chứng chỉ của người trực tiếp điều hành hoạt động vận tải",
                     "05 ngày làm việc",
                     "Thời gian nhận hồ sơ: 09 giờ 00 phút, ngày 03 tháng 12 năm 2026",
                     "Thời gian trả kết quả giải quyết hồ sơ: 17 giờ 00 phút, ngày 10 tháng 12",
                     "NGƯỜI TIẾP NHẬN HỒ SƠ"):
        assert expected in text, expected
    assert_agency_signed(platform, pdf)
    with platform.db.transaction() as session:
        events = session.execute(select(AuditEvent.detail).where(
            AuditEvent.action == "slip_issued")).scalars().all()
        assert [e["form"] for e in events] == ["01"]
        assert events[0]["document_id"] == doc.id

    assert worker.tick(platform)["emails"] == 2  # received, then the receipt: one each
    receipt = next(m for m in inbox.messages if "Giấy tiếp nhận" in m["Subject"])
    assert receipt["To"] == "doanhnghiep@example.vn" and code in receipt["Subject"]
    assert "Ngày hẹn trả kết quả: 10/12/2026" in receipt.get_body(("plain",)).get_content()
    [attachment] = list(receipt.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"giay-tiep-nhan-ho-so-va-hen-tra-ket-qua-{code}.pdf"
    assert attachment.get_content() == pdf
    assert_agency_signed(platform, attachment.get_content())


def test_supplement_request_and_refusal_slips_carry_the_reasons(platform):
    code = submit(platform)
    complete(platform, code, "Task_Receive", "motcua",
             {"reception_decision": "supplement", "reason": "Thiếu quyết định bổ nhiệm",
              "supplement_items": "Quyết định bổ nhiệm người điều hành vận tải"})
    _doc, pdf = slip(platform, code, "02")
    text = text_of(pdf)
    for expected in ("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", "Lý do: Thiếu quyết định bổ nhiệm",
                     "Quyết định bổ nhiệm người điều hành vận tải", "NGƯỜI HƯỚNG DẪN"):
        assert expected in text, expected
    assert_agency_signed(platform, pdf)
    complete(platform, code, "Task_Supplement", "doanhnghiep", {"supplement_note": "Đã bổ sung."})
    complete(platform, code, "Task_Receive", "motcua",
             {"reception_decision": "refuse", "reason": "Chưa đủ điều kiện kinh doanh vận tải."})
    _doc, pdf = slip(platform, code, "03")
    text = text_of(pdf)
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in text
    assert "Chưa đủ điều kiện kinh doanh vận tải." in text
    with platform.db.transaction() as session:
        rows = session.execute(select(Outbox).where(Outbox.kind == "email").order_by(Outbox.id)).scalars().all()
        # received, supplement request (02), refusal (03): each slip rides its own e-mail
        assert [len(r.attachments) for r in rows] == [0, 1, 1]
        assert "Thiếu quyết định bổ nhiệm" in rows[1].body


def test_control_slip_marks_early_and_late_steps(platform):
    clock.travel_to(THURSDAY)
    code = submit(platform)
    complete(platform, code, "Task_Receive", "motcua", {"reception_decision": "accept"})
    clock.travel(timedelta(days=7))  # Thu 10/12 09:00: the appraisal was due Wed 9/12 17:00
    complete(platform, code, "Task_Appraise", "chuyenvien", {
        "recommendation": "approve", "appraisal_notes": "Đủ điều kiện.",
        "licence_number": "GP-56-0001"}, claim=True)
    with platform.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        rows = slip_fields.handovers(session, dossier)
    assert [(r["giver"], r["receiver"], r["result"]) for r in rows] == [
        ("Tổ chức, cá nhân", "Cán bộ tiếp nhận (một cửa)", ""),
        ("Cán bộ tiếp nhận (một cửa)", "Chuyên viên thụ lý", "Trước hạn"),
        ("Chuyên viên thụ lý", "Lãnh đạo", "Quá hạn"),
    ]
    assert rows[1]["giver_name"] == "Lê Văn Tiếp" and rows[2]["giver_name"] == "Trần Minh Thụ"

    pdf = slips.control_slip(platform, code, user(platform, "chuyenvien"))
    text = text_of(pdf)
    for expected in ("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", f"Mã hồ sơ: {code}",
                     "Giao: Cán bộ tiếp nhận (một cửa)", "Nhận: Chuyên viên thụ lý",
                     "Trước hạn", "Quá hạn", "Người giao: Lê Văn Tiếp"):
        assert expected in text, expected
    assert_agency_signed(platform, pdf)
    assert slips.control_slip(platform, code, user(platform, "doanhnghiep"))  # the applicant
    with pytest.raises(NotFound):
        slips.control_slip(platform, code, user(platform, "congdan"))  # someone else


def approve_and_sign(p, code: str) -> None:
    """The licence's approved path from reception to the head's signature."""
    complete(p, code, "Task_Receive", "motcua", {"reception_decision": "accept"})
    complete(p, code, "Task_Appraise", "chuyenvien", {
        "recommendation": "approve", "appraisal_notes": "Đủ điều kiện.",
        "licence_number": "GP-56-0001"}, claim=True)
    complete(p, code, "Task_Approve", "lanhdao", {"head_decision": "approve"})
    for spec, who in (("Task_SignHandler", "chuyenvien"), ("Task_SignHead", "lanhdao")):
        row = open_task(p, code, spec)
        tasks.complete(p, user(p, who), row.id, {"confirm": True}, passphrase="demo")


def test_the_approved_path_ends_with_the_control_slip_attached_to_the_result_e_mail(platform):
    clock.travel_to(THURSDAY)
    code = submit(platform)
    approve_and_sign(platform, code)
    _doc, pdf = slip(platform, code, "06")  # Circular 03/2025 numbers the control slip 06
    text = text_of(pdf)
    assert "Tổ chức, cá nhân (nhận kết quả)" in text and "Tình trạng hồ sơ: Đã giải quyết xong" in text
    # reception, appraisal, approval and both signatures, all on the first day
    with platform.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        results = [r["result"] for r in slip_fields.handovers(session, dossier)]
    assert results == ["", "Trước hạn", "Trước hạn", "Trước hạn", "Trước hạn", "Trước hạn"]
    assert "Ký số giấy phép (lãnh đạo)" in text
    with platform.db.transaction() as session:
        last = session.execute(select(Outbox).where(Outbox.kind == "email").order_by(Outbox.id.desc())).scalars().first()
        assert last.subject.startswith("Đã có kết quả giải quyết hồ sơ")
        assert len(last.attachments) == 1


def test_an_unknown_form_refuses_the_step_and_changes_nothing(platform):
    from engine.errors import ScriptError
    from engine.procedures import deploy_bundle
    from tests.engine.test_bundles import replace

    deploy_bundle(platform, replace("process.bpmn", "value=\"'01'\"", "value=\"'07'\""))
    code = submit(platform)
    with pytest.raises(ScriptError, match="has no form '07'"):
        complete(platform, code, "Task_Receive", "motcua", {"reception_decision": "accept"})
    with platform.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        assert dossier.status == "submitted"
        assert session.execute(select(func.count()).select_from(Document).where(
            Document.kind == "generated")).scalar() == 0
    open_task(platform, code, "Task_Receive")  # still waiting for reception
