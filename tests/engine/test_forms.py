"""Form data against a form's schema: what the schema alone would let through."""

from __future__ import annotations

import pytest

from engine import forms
from engine.errors import InvalidData

SCHEMA = {
    "type": "object",
    "properties": {
        "company_name": {"type": "string", "title": "Tên doanh nghiệp"},
        "vehicles": {"type": "array", "items": {"type": "object", "properties": {
            "plate": {"type": "string"}}}},
        "licence_scan": {"type": "string", "format": "document", "title": "Bản quét"},
    },
    "required": ["company_name", "licence_scan"],
    "additionalProperties": False,
}


def errors(data: dict, **kwargs) -> dict[str, dict]:
    with pytest.raises(InvalidData) as refused:
        forms.validate(SCHEMA, data, **kwargs)
    return {e["field"]: e for e in refused.value.details}


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x1b[2J", "\x7f", "\u0085", "\ud800"])
def test_control_characters_and_lone_surrogates_are_refused_in_every_text(bad):
    found = errors({"company_name": f"Công ty{bad}", "vehicles": [{"plate": f"36A{bad}"}]},
                   uploads={"licence_scan": "7"})
    assert set(found) == {"company_name", "vehicles.0.plate"}
    assert "ký tự điều khiển" in found["company_name"]["message_vi"]
    assert "control or invisible character" in found["company_name"]["message"]


def test_tabs_and_line_breaks_are_text():
    clean = forms.validate(SCHEMA, {"company_name": "Công ty\tVận tải\r\nHồng Đức"},
                           uploads={"licence_scan": "7"})
    assert clean == {"company_name": "Công ty\tVận tải\r\nHồng Đức", "licence_scan": "7"}


def test_unknown_fields_are_refused_where_the_form_allows_none():
    found = errors({"company_name": "Công ty", "is_admin": True}, uploads={"licence_scan": "7"})
    assert set(found) == {"is_admin"}
    assert found["is_admin"]["message_vi"] == "Biểu mẫu không có trường này."
    open_form = {**SCHEMA, "additionalProperties": True}
    clean = forms.validate(open_form, {"company_name": "Công ty", "note": "x"},
                           uploads={"licence_scan": "7"})
    assert clean == {"company_name": "Công ty", "licence_scan": "7"}  # undeclared: dropped


def test_a_document_field_takes_an_uploaded_file_never_text():
    found = errors({"company_name": "Công ty", "licence_scan": "not-a-file"}, uploads={})
    assert set(found) == {"licence_scan"}
    assert "tải tệp" in found["licence_scan"]["message_vi"]
    # even a number that happens to be some document's id: files come only as uploads
    assert set(errors({"company_name": "Công ty", "licence_scan": "7"}, uploads={})) == {
        "licence_scan"}
    clean = forms.validate(SCHEMA, {"company_name": "Công ty"}, uploads={"licence_scan": "8"})
    assert clean["licence_scan"] == "8"


def test_the_files_of_a_submission_are_written_together_each_with_its_own_row(platform):
    """Every file of a form is stored and named in the dossier's data, and their rows go
    in one insert rather than one per file (on PostgreSQL part of the statement that
    inserts the dossier: engine.dossiers.Opening)."""
    from sqlalchemy import event, select

    from engine.models import Document, Dossier
    from tests.engine.factories import submit

    inserts: list[str] = []

    def sent(conn, cursor, statement, *args) -> None:
        if "INSERT INTO document" in statement:
            inserts.append(statement)

    event.listen(platform.db.engine, "before_cursor_execute", sent)
    try:
        code = submit(platform)
    finally:
        event.remove(platform.db.engine, "before_cursor_execute", sent)
    with platform.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        docs = session.execute(select(Document.id, Document.name, Document.revision)
                               .where(Document.dossier_id == dossier.id)).all()
        data = dossier.data
    assert len(docs) >= 2 and all(revision == 1 for _, _, revision in docs)
    assert {name: str(doc_id) for doc_id, name, _ in docs} == {
        name: data[name] for _, name, _ in docs}
    assert len(inserts) == 1


def test_a_version_form_is_checked_by_its_own_content_shared_or_copied():
    """The version's form is parsed once and shared (with its validator); a copy that its
    caller changed is checked against the copy's content, not the shared form's."""
    import json
    from types import SimpleNamespace

    version = SimpleNamespace(content_hash="test-shared-form",
                              files={"forms/application.json": json.dumps(SCHEMA)})
    shared = forms.shared_form(version, "forms/application.json")
    assert forms.shared_form(version, "forms/application.json") is shared
    copy = forms.form_schema(version, "forms/application.json")
    assert copy == shared and copy is not shared
    copy["properties"]["company_name"]["maxLength"] = 3
    data = {"company_name": "Công ty"}
    assert forms.validate(shared, data, uploads={"licence_scan": "7"})["company_name"] == "Công ty"
    with pytest.raises(InvalidData) as refused:
        forms.validate(copy, data, uploads={"licence_scan": "7"})
    assert [e["field"] for e in refused.value.details] == ["company_name"]
    assert shared["properties"]["company_name"].get("maxLength") is None


def test_a_schema_kept_with_its_checks_judges_as_the_same_schema_by_content():
    """A module's constant schema has its checks built once (forms.shared_schema); it
    accepts and refuses exactly as the same schema met for the first time."""
    def schema():
        return {"type": "object", "properties": {"note": {"type": "string", "maxLength": 3}},
                "required": ["note"]}

    kept, again = forms.shared_schema(schema()), schema()
    assert forms.validate(kept, {"note": "ok", "x": 1}) == forms.validate(
        again, {"note": "ok", "x": 1}) == {"note": "ok"}
    for data in ({}, {"note": "too long"}, {"note": 5}):
        outcomes = []
        for form in (kept, again):
            with pytest.raises(InvalidData) as refused:
                forms.validate(form, data)
            outcomes.append(refused.value.details)
        assert outcomes[0] == outcomes[1]
