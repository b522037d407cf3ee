"""Uploaded files judged by their content."""

from __future__ import annotations

import zlib

import pytest

from engine.documents import pdf_has_active_content, sniff
from engine.errors import InvalidData
from engine.storage import Upload

PLAIN = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
         b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n"
         b"%%EOF\n")


def with_object(body: bytes) -> bytes:
    return PLAIN.replace(b"trailer", b"3 0 obj\n" + body + b"\nendobj\ntrailer")


def compressed_object_stream(body: bytes) -> bytes:
    data = zlib.compress(body)
    return with_object(b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\n"
                       b"stream\n%s\nendstream" % (len(data), data))


@pytest.mark.parametrize("pdf", [
    with_object(b"<< /S /JavaScript /JS (app.alert(1)) >>"),
    with_object(b"<< /OpenAction << /S /Launch /F (calc.exe) >> >>"),
    with_object(b"<< /S /J#61vaScript /J#53 (app.alert(1)) >>"),  # #xx escapes in names
    compressed_object_stream(b"4 0 << /S /JavaScript /JS (app.alert(1)) >>"),
], ids=["javascript", "launch", "escaped", "in-object-stream"])
def test_a_pdf_with_scripts_is_refused_at_upload(pdf):
    assert pdf_has_active_content(pdf)
    with pytest.raises(InvalidData) as refused:
        sniff(Upload("giay-phep.pdf", "application/pdf", pdf), field="licence", accept=None,
              max_bytes=10_000_000)
    assert "JavaScript" in refused.value.details[0]["message_vi"]


def test_a_plain_pdf_is_accepted():
    assert not pdf_has_active_content(PLAIN)
    assert sniff(Upload("don.pdf", "application/pdf", PLAIN), field="letter", accept=None,
                 max_bytes=10_000_000) == "application/pdf"


def test_uploads_to_an_existing_dossier_are_each_the_next_revision_of_their_name(platform):
    """Files stored for a dossier that has them already (a supplement) become their next
    revision, each name counted on its own, in the order given."""
    from sqlalchemy import select

    from engine.documents import store_uploads
    from engine.models import Document, Dossier
    from tests.engine.factories import submit

    code = submit(platform)
    with platform.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        names = sorted(session.execute(select(Document.name).where(
            Document.dossier_id == dossier.id)).scalars())
        upload = Upload("again.pdf", "application/pdf", PLAIN)
        stored = store_uploads(platform, session, dossier,
                               {names[1]: (upload, "application/pdf"),
                                "new_name": (upload, "application/pdf")}, created_by_id=None)
    assert list(stored) == [names[1], "new_name"]
    with platform.db.read() as session:
        rows = {doc.id: (doc.name, doc.revision, doc.filename) for doc in session.execute(
            select(Document).where(Document.id.in_(stored.values()))).scalars()}
    assert rows == {stored[names[1]]: (names[1], 2, "again.pdf"),
                    stored["new_name"]: ("new_name", 1, "again.pdf")}
