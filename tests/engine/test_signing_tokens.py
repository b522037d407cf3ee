"""A platform whose signing keys are in PKCS#11 tokens (MOTCUA_SIGNER=pkcs11, SoftHSM2) and
whose signatures are timestamped (the RFC 3161 stand-in): officers sign a result with their
tokens' keys, a wrong PIN loses nothing, the agency's own token seals the result last, every
signature is timestamped with its validation data (PAdES B-LT), and the agency's slips are
sealed by its token."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from engine import tasks
from engine.errors import InvalidData
from engine.models import Document, Dossier
from signing.pki import trust_roots
from signing.verify import format_report, verify_pdf
from tests.engine.factories import submit
from tests.scenario import open_task, user

pytest.importorskip("PyKCS11")
from signing.pkcs11 import SOFTHSM_LIB  # noqa: E402 - needs PyKCS11

pytestmark = pytest.mark.skipif(not os.path.exists(SOFTHSM_LIB),
                                reason="SoftHSM2 (softhsm2) not installed; `make test` "
                                       "installs it")
PIN = "mã PIN 2468"


@pytest.fixture
def settings(settings):
    settings.signer = "pkcs11"
    settings.tsa_url = "standin"
    return settings


def complete(p, code, spec, who, data, **kwargs):
    return tasks.complete(p, user(p, who), open_task(p, code, spec).id, data, **kwargs)


def _documents(p, code: str, name: str | None) -> list[Document]:
    with p.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        rows = session.execute(select(Document).where(Document.dossier_id == dossier.id,
                                                      (Document.name == name) if name
                                                      else Document.name.isnot(None))
                               .order_by(Document.revision)).scalars().all()
        session.expunge_all()
        return rows


def _pdfsig_valid(pdf: bytes, tmp_path) -> list[str]:
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True,
                         check=False).stdout
    return re.findall(r"Signature Validation: (.+)", out)


def test_a_result_signed_with_a_token_key_and_a_wrong_pin_loses_nothing(platform, tmp_path):
    p = platform
    assert p.signers.name == "pkcs11"
    officer, head = user(p, "chuyenvien"), user(p, "lanhdao")
    cert, head_cert = (p.signers.issue_officer(u.username, full_name=u.full_name,
                                               title=u.title or "", agency=u.agency_name or "",
                                               pin=PIN) for u in (officer, head))
    code = submit(p)
    complete(p, code, "Task_Receive", "motcua", {"reception_decision": "accept"})
    complete(p, code, "Task_Appraise", "chuyenvien", {
        "recommendation": "approve", "appraisal_notes": "Đủ điều kiện.",
        "licence_number": "GP-56-0011"})
    complete(p, code, "Task_Approve", "lanhdao", {"head_decision": "approve"})
    task = open_task(p, code, "Task_SignHandler")
    shown = tasks.get_task(p, officer, task.id)
    [licence] = [d for d in shown["dossier"]["documents"] if d["name"] == shown["sign_document"]]

    for wrong in ("sai", "demo"):  # "demo" opens the file key, not the token
        with pytest.raises(InvalidData) as err:
            tasks.complete(p, officer, task.id, {"confirm": True}, passphrase=wrong,
                           signs_document=licence["id"])
        assert err.value.status == 422
        assert "Wrong PIN for officer 'chuyenvien'" in str(err.value)
        assert err.value.details[0]["field"] == "passphrase"
        assert err.value.vi.startswith("Mã PIN khóa ký số không đúng")
    # nothing of the officer's work is lost: the same step is open, the document unsigned
    assert open_task(p, code, "Task_SignHandler").id == task.id
    assert [d.signatures for d in _documents(p, code, licence["name"])] == [0]

    tasks.complete(p, officer, task.id, {"confirm": True}, passphrase=PIN,
                   signs_document=licence["id"])
    assert _documents(p, code, licence["name"])[-1].signatures == 1
    shown = tasks.get_task(p, head, open_task(p, code, "Task_SignHead").id)
    licence = max((d for d in shown["dossier"]["documents"]
                   if d["name"] == shown["sign_document"]), key=lambda d: d["revision"])
    complete(p, code, "Task_SignHead", "lanhdao", {"confirm": True}, passphrase=PIN,
             signs_document=licence["id"])
    signed = _documents(p, code, licence["name"])[-1]
    assert signed.signatures == 2  # the officers'; the agency's seal follows the last one
    pdf = p.storage.get(signed.storage_key)
    report = verify_pdf(pdf, trust_roots(p.pki_dir))
    assert report.ok, format_report(report)
    assert [(s.signer, s.valid, s.trusted) for s in report.signatures[:2]] == [
        (officer.full_name, True, True), (head.full_name, True, True)]
    assert len(report.signatures) == 3 and report.signatures[2].field == "seal"
    # timestamped by the TSA, with the chain and the CA's CRL in the document: B-LT
    assert [s.level for s in report.signatures] == ["B-LT"] * 3
    assert all(s.timestamp is not None for s in report.signatures)
    embedded = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    certs = [s.signer_cert.dump() for s in embedded]
    assert certs[:2] == [c.public_bytes(serialization.Encoding.DER) for c in (cert, head_cert)]
    with p.signers.agency("000.00.14.H56", name="Sở GTVT") as seal_signer:  # its own token
        assert certs[2] == seal_signer.certificate.public_bytes(serialization.Encoding.DER)
    if shutil.which("pdfsig"):
        assert _pdfsig_valid(pdf, tmp_path) == ["Signature is Valid."] * 3

    # The slips were sealed too, by tokens the agencies got on first use.
    slips = [d for d in _documents(p, code, None) if d.name.startswith("slip-")]
    assert slips
    for slip in slips:
        seal = verify_pdf(p.storage.get(slip.storage_key), trust_roots(p.pki_dir))
        assert seal.ok, format_report(seal)
    labels = {path.name for path in (p.pki_dir / "softhsm" / "tokens").iterdir()}
    assert len(labels) >= 2  # the officer's token and at least one agency's
