"""Demo accounts and the demo PKI (``motcua demo``). Every password is ``demo``; every
officer's signing key is protected by the passphrase ``demo``."""

from __future__ import annotations

from .accounts import create_user
from .config import DEMO_MARKER, DEMO_PASSPHRASE

TRANSPORT = "000.00.14.H56"
FINANCE = "000.00.13.H56"
PROVINCE = "000.00.00.H56"
#: Phòng Tài chính – Kế hoạch TP Thanh Hóa: the district side of the Department of Finance's
#: two procedures (budget-relationship unit codes, investment project codes).
DISTRICT_FINANCE = "000.10.20.H56"
PASSWORD = "demo"

ACCOUNTS = [
    dict(username="doanhnghiep", full_name="Công ty TNHH Vận tải Hồng Đức", kind="firm",
         email="doanhnghiep@example.vn", id_number="2801234567", phone="0912345678",
         address="Số 12 Lê Lợi, phường Điện Biên, TP Thanh Hóa",
         description="Doanh nghiệp vận tải / transport firm"),
    dict(username="congdan", full_name="Nguyễn Thị Lan", kind="citizen",
         email="congdan@example.vn", id_number="038190001234",
         description="Công dân / citizen"),
    dict(username="motcua", full_name="Lê Văn Tiếp", kind="staff", title="Cán bộ tiếp nhận",
         email="motcua@example.vn", agency_code=TRANSPORT, roles=[("reception", TRANSPORT)],
         description="Tiếp nhận, Sở GTVT / reception officer"),
    dict(username="chuyenvien", full_name="Trần Minh Thụ", kind="staff", title="Chuyên viên",
         email="chuyenvien@example.vn", agency_code=TRANSPORT, roles=[("handler", TRANSPORT)],
         description="Chuyên viên thụ lý, Sở GTVT / handling officer"),
    dict(username="lanhdao", full_name="Phạm Quang Duyệt", kind="staff", title="Phó Giám đốc",
         email="lanhdao@example.vn", agency_code=TRANSPORT, roles=[("head", TRANSPORT)],
         description="Lãnh đạo Sở GTVT / head of agency"),
    dict(username="phantich", full_name="Đỗ Thu Quy Trình", kind="staff",
         title="Chuyên viên phân tích", email="phantich@example.vn", agency_code=PROVINCE,
         roles=[("analyst", PROVINCE)], description="Phân tích quy trình / process analyst"),
    dict(username="quantri", full_name="Vũ Hệ Thống", kind="staff", title="Quản trị viên",
         email="quantri@example.vn", agency_code=PROVINCE,
         roles=[("admin", PROVINCE), ("leader", PROVINCE)],
         description="Quản trị hệ thống / administrator"),
    dict(username="lanhdaotinh", full_name="Lê Thống Nhất", kind="staff",
         title="Phó Chủ tịch UBND tỉnh", email="lanhdaotinh@example.vn", agency_code=PROVINCE,
         roles=[("leader", PROVINCE)],
         description="Lãnh đạo tỉnh, xem thống kê / provincial leader (statistics)"),
    # The province ↔ district two-way flow of the Department of Finance (DOMAIN.md §5a/§5b):
    # a district unit files with its district finance office, which forwards to the Department.
    dict(username="donvi", full_name="Trường Tiểu học Điện Biên", kind="firm",
         email="donvi@example.vn", description="Đơn vị sử dụng ngân sách cấp huyện / "
                                               "district budget-using unit"),
    dict(username="phongtc", full_name="Nguyễn Thị Tài", kind="staff",
         title="Chuyên viên Phòng Tài chính – Kế hoạch", email="phongtc@example.vn",
         agency_code=DISTRICT_FINANCE, roles=[("district_finance", DISTRICT_FINANCE)],
         description="Phòng Tài chính – Kế hoạch TP Thanh Hóa / district finance office"),
    dict(username="stc_motcua", full_name="Lê Thị Nhận", kind="staff", title="Cán bộ tiếp nhận",
         email="stc_motcua@example.vn", agency_code=FINANCE, roles=[("reception", FINANCE)],
         description="Tiếp nhận, Sở Tài chính / reception officer, Department of Finance"),
    dict(username="stc_chuyenvien", full_name="Hoàng Văn Thẩm", kind="staff", title="Chuyên viên",
         email="stc_chuyenvien@example.vn", agency_code=FINANCE, roles=[("handler", FINANCE)],
         description="Chuyên viên thụ lý, Sở Tài chính / handling officer, Department of Finance"),
    dict(username="stc_lanhdao", full_name="Trịnh Quốc Ngân", kind="staff", title="Phó Giám đốc",
         email="stc_lanhdao@example.vn", agency_code=FINANCE, roles=[("head", FINANCE)],
         description="Lãnh đạo Sở Tài chính / head, Department of Finance"),
]


def create_accounts(p, *, with_pki: bool = True) -> list[dict]:
    """Create (or reset) the demo accounts; with ``with_pki``, the demo CA and a signing
    certificate for every officer who signs."""
    with p.db.transaction() as session:
        for account in ACCOUNTS:
            fields = {k: v for k, v in account.items() if k != "description"}
            create_user(session, password=PASSWORD, **fields)
    if with_pki:
        issue_certificates(p)
    return [{"username": a["username"], "password": PASSWORD, "description": a["description"]}
            for a in ACCOUNTS]


def issue_certificates(p) -> None:
    """The demo CA, every officer's certificate and handwritten-signature picture."""
    from signing.images import signature_image
    from signing.pki import ensure_ca

    ensure_ca(p.pki_dir)
    marker = p.settings.data_dir / DEMO_MARKER
    marker.write_text("The demo's PKI (motcua demo): its keys open with the passphrase "
                      f"{DEMO_PASSPHRASE!r}.\n", encoding="utf-8")
    for account in ACCOUNTS:
        if account["kind"] == "staff":
            agency = account.get("agency_code")
            # A key file, or with MOTCUA_SIGNER=pkcs11 a SoftHSM2 token whose PIN is PASSWORD.
            p.signers.issue_officer(account["username"], full_name=account["full_name"],
                                    title=account.get("title", ""),
                                    agency=_agency_name(p, agency), email=account["email"],
                                    pin=PASSWORD)
            signature_image(p.pki_dir, account["username"], account["full_name"])


def _agency_name(p, code: str | None) -> str:
    from sqlalchemy import select

    from .models import Agency

    with p.db.transaction() as session:
        return session.execute(select(Agency.name_vi).where(Agency.code == code)).scalar() or ""
