"""The signing page of a platform whose officers' keys are in PKCS#11 tokens (SoftHSM2):
it asks for the token's PIN, refuses a wrong one in Vietnamese and keeps the step open."""

# ruff: noqa: F811

from __future__ import annotations

import os

import pytest

from tests.web.test_pages import (  # noqa: F401  (fixtures)
    app,
    auth,
    client,
    complete,
    task_id_for,
    text,
    to_the_handlers_signature,
)

pytest.importorskip("PyKCS11")
from signing.pkcs11 import SOFTHSM_LIB  # noqa: E402 - needs PyKCS11

pytestmark = pytest.mark.skipif(not os.path.exists(SOFTHSM_LIB),
                                reason="SoftHSM2 (softhsm2) not installed; `make test` "
                                       "installs it")


@pytest.fixture
def settings(settings):
    settings.signer = "pkcs11"
    return settings


def test_the_signing_step_asks_for_the_token_pin(platform, auth, client):
    from engine import accounts

    officer = accounts.find_user(platform, "chuyenvien")
    platform.signers.issue_officer("chuyenvien", full_name=officer.full_name,
                                   title=officer.title or "", agency=officer.agency_name or "",
                                   pin="2468")
    code, task_id = to_the_handlers_signature(auth, "GP-56-0002")
    page = text(client.get(f"/workspace/tasks/{task_id}"))
    assert "Mã PIN khóa ký số" in page and "thiết bị ký số (token)" in page
    assert "Mật khẩu khóa ký số" not in page

    response = complete(auth, task_id, {"confirm": "true", "passphrase": "demo"})
    assert response.status_code == 200
    assert 'id="passphrase-error"' in text(response)
    assert "Mã PIN khóa ký số không đúng" in text(response)
    assert "Wrong PIN" not in text(response)  # no English on a Vietnamese page
    assert task_id_for(auth, code) == task_id  # the step is still in the inbox
    response = complete(auth, task_id, {"confirm": "true", "passphrase": "2468"})
    assert response.status_code == 302, text(response)
    assert "1 chữ ký" in text(client.get(f"/ho-so/{code}"))
