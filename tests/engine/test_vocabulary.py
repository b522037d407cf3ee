"""The domain's vocabulary (:mod:`engine.vocabulary`): every word the code stores has its
labels in both languages, the pages translate them, the API describes them."""

from __future__ import annotations

import ast
import json
import unicodedata
from pathlib import Path

import yaml
from babel.messages.mofile import read_mo

from engine.vocabulary import (
    CLOSED_STATUSES,
    FINAL_STATUSES,
    PAUSED_STATUS,
    STATUSES,
    STOPPING_ROLES,
    VOCABULARIES,
    AuditAction,
    RoleCode,
    Status,
    TaskState,
    status_labels,
)
from web.openapi import spec

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.mo"


def _strings(node: ast.AST):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)


def _audit_actions_in_code() -> dict[str, str]:
    """Every ``action="..."`` literal passed to a call in engine/ and web/ (the audit log's
    writers, and the helpers that pass an action on to them), with where it is."""
    found = {}
    for package in ("engine", "web"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    for keyword in node.keywords:
                        if keyword.arg == "action":
                            for value in _strings(keyword.value):
                                found[value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_audit_action_the_code_writes_is_in_the_vocabulary():
    found = _audit_actions_in_code()
    assert len(found) > 40  # the scan does find the writers
    missing = {action: where for action, where in found.items() if action not in set(AuditAction)}
    assert not missing, f"audit actions without labels (add them to AuditAction): {missing}"


def test_every_word_has_a_vietnamese_and_an_english_label_in_nfc():
    for vocabulary in VOCABULARIES:
        assert len({m.vi for m in vocabulary}) == len(vocabulary), vocabulary  # tellable apart
        for member in vocabulary:
            assert member.vi and member.en, member
            assert member.vi == unicodedata.normalize("NFC", member.vi), member
            assert member.value == member.value.strip().lower(), member


def test_the_english_catalogue_translates_every_label_as_the_vocabulary_does():
    # Role names on pages come from the roles table (administrators may rename them), so
    # roles are checked against the seed below instead.
    with CATALOGUE.open("rb") as compiled:
        catalogue = read_mo(compiled)
    for vocabulary in VOCABULARIES:
        if vocabulary is RoleCode:
            continue
        for member in vocabulary:
            message = catalogue.get(member.vi)
            assert message is not None, f"{member.vi!r} is not in messages.po"
            assert message.string == member.en, (member, message.string)


def test_the_seeded_roles_are_the_built_in_roles_with_their_labels():
    seed = yaml.safe_load((ROOT / "engine" / "seed" / "roles.yaml").read_text(encoding="utf-8"))
    assert {row["code"]: (row["vi"], row["en"]) for row in seed} == {
        m.value: (m.vi, m.en) for m in RoleCode if m is not RoleCode.APPLICANT}
    assert set(STOPPING_ROLES) <= set(RoleCode)


def test_the_sets_of_statuses_are_made_of_statuses():
    assert STATUSES == tuple(Status)
    assert CLOSED_STATUSES < FINAL_STATUSES < set(STATUSES)
    assert PAUSED_STATUS not in FINAL_STATUSES
    # the stored strings
    assert Status.SUPPLEMENT_REQUESTED == "supplement_requested"
    assert json.dumps([Status.STOPPED, TaskState.OPEN]) == '["stopped", "open"]'


def test_the_api_describes_exactly_the_vocabulary():
    schemas = spec()["components"]["schemas"]
    assert schemas["Dossier"]["properties"]["status"]["enum"] == [s.value for s in Status]
    assert schemas["SubmitResult"]["properties"]["status"]["enum"] == [s.value for s in Status]
    history = schemas["Dossier"]["properties"]["history"]["items"]["properties"]["action"]
    assert set(history["enum"]) == {a.value for a in AuditAction}
    assert schemas["Task"]["properties"]["status"]["enum"] == ["open", "completed", "cancelled"]
    described = schemas["Dossier"]["properties"]["status"]["description"]
    assert all(f"`{s.value}` {s.en}" in described for s in Status)


def test_a_supplemented_dossier_reads_as_being_processed_not_as_new():
    assert status_labels("submitted") == {"status_vi": "Mới nộp", "status_en": "Submitted",
                                          "supplemented": False}
    again = status_labels("submitted", supplemented=True)
    assert again["supplemented"] and again["status_vi"] == "Đã bổ sung, đang xử lý"
    later = status_labels("accepted", supplemented=True)  # only the return to "submitted"
    assert (later["status_vi"], later["supplemented"]) == ("Đã tiếp nhận", False)


def test_an_unknown_status_reads_as_itself():
    assert status_labels("archived")["status_en"] == "archived"
    assert Status.label_of(None) == ""
