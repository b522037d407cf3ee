"""Fixtures for the signing tests: one demo PKI per test module (RSA key generation is slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from signing import keyfiles, pki
from signing.render import render_pdf

AGENCY = "Sở Giao thông vận tải Thanh Hóa"
OFFICERS = {
    "chuyenvien": ("Nguyễn Văn An", "Chuyên viên", "an.nv@sgtvt.thanhhoa.gov.vn"),
    "lanhdao": ("Lê Thị Bình", "Phó Giám đốc", ""),
}
PASSPHRASE = "mật khẩu ký số"

SPEC = {
    "title": "GIẤY PHÉP KINH DOANH VẬN TẢI BẰNG XE Ô TÔ",
    "subtitle": "Số giấy phép: {licence_no}",
    "paragraphs": [
        "Cấp cho: {application[company_name]}.",
        "Địa chỉ trụ sở: {application[address]}, huyện Thường Xuân, tỉnh Thanh Hóa.",
        "Ghi chú: {application[missing_key]}",
    ],
    "fields": [
        {"label": "Loại hình kinh doanh", "value": "Vận tải hành khách theo hợp đồng"},
        {"label": "Người đại diện", "value": "{application[representative]}"},
    ],
    "footer": ["Nơi nhận:", "- Như trên;", "- Lưu: VT."],
}
CONTEXT = {
    "agency_name": AGENCY,
    "number": "123/GP-SGTVT",
    "issued_on": "2026-02-05",
    "licence_no": "38-0001",
    "application": {
        "company_name": "Công ty TNHH Vận tải Hồng Đức",
        "address": "Thôn 1, xã Xuân Dương",
        "representative": "Nguyễn Thị Hồng",
    },
}
SLOTS = [
    {"label": "Người thẩm định", "name": "Nguyễn Văn An", "title": "Chuyên viên"},
    {"label": "KT. Giám đốc", "name": "Lê Thị Bình", "title": "Phó Giám đốc"},
]


@pytest.fixture
def sample() -> dict:
    """The sample document: spec, context and signature slots (fresh copies)."""
    import copy

    return copy.deepcopy({"spec": SPEC, "context": CONTEXT, "slots": SLOTS,
                          "agency": AGENCY, "passphrase": PASSPHRASE})


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory) -> Path:
    """A demo PKI with a CA and the officers of OFFICERS."""
    directory = tmp_path_factory.mktemp("pki")
    pki.ensure_ca(directory)
    for username, (full_name, title, email) in OFFICERS.items():
        pki.issue_certificate(directory, username, full_name=full_name, title=title,
                              agency=AGENCY, email=email, passphrase=PASSPHRASE)
    return directory


@pytest.fixture(scope="module")
def handler(pki_dir) -> keyfiles.Signer:
    return keyfiles.load_signer(pki_dir, "chuyenvien", PASSPHRASE)


@pytest.fixture(scope="module")
def head(pki_dir) -> keyfiles.Signer:
    return keyfiles.load_signer(pki_dir, "lanhdao", PASSPHRASE)


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    """The sample document rendered with two empty signature slots."""
    return render_pdf(SPEC, CONTEXT, signature_slots=SLOTS)
