"""Files of a dossier: uploads checked on the way in, generated results, signed revisions."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from pathlib import PurePath
from typing import Protocol
from urllib.parse import urlencode

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, object_session

from . import clock
from .errors import InvalidData, NotFound, PermissionDenied
from .models import Agency, Document, Dossier
from .step import sql
from .storage import Upload
from .vocabulary import RoleCode

# What a citizen may attach: the media types a reviewing officer can open, checked by
# their first bytes, not by the name the browser sent.
SIGNATURES = {
    "application/pdf": [b"%PDF-"],
    "image/jpeg": [b"\xff\xd8\xff"],
    "image/png": [b"\x89PNG\r\n\x1a\n"],
}
EXTENSIONS = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".png": "image/png"}


def sniff(upload: Upload, *, field: str, accept: list[str] | None, max_bytes: int) -> str:
    """The media type of ``upload`` judged by its content; :class:`InvalidData` if not allowed."""
    size = len(upload.content)
    if size == 0:
        raise InvalidData(f"{field}: the file is empty.", vi=f"{field}: tệp rỗng.",
                          details=[{"field": field, "message": f"'{upload.filename}': the file is empty.",
                                   "message_vi": f"'{upload.filename}': tệp rỗng."}])
    if size > max_bytes:
        mb = max_bytes / 1024 / 1024
        raise InvalidData(f"{field}: the file is larger than {mb:.0f} MB.",
                          vi=f"{field}: tệp lớn hơn {mb:.0f} MB.",
                          details=[{"field": field, "message": f"'{upload.filename}' is larger than {mb:.0f} MB.",
                                   "message_vi": f"'{upload.filename}' lớn hơn {mb:.0f} MB."}])
    allowed = {EXTENSIONS[e.lower()] for e in (accept or EXTENSIONS) if e.lower() in EXTENSIONS}
    for media_type, magics in SIGNATURES.items():
        if media_type in allowed and any(upload.content.startswith(m) for m in magics):
            if media_type == "application/pdf" and pdf_has_active_content(upload.content):
                raise InvalidData(
                    f"{field}: '{upload.filename}' contains scripts or actions (JavaScript).",
                    vi=f"{field}: '{upload.filename}' có chứa mã lệnh (JavaScript).",
                    details=[{"field": field, "message": f"'{upload.filename}' contains "
                              "scripts or actions (JavaScript): print it to PDF again, or "
                              "scan the paper document.",
                              "message_vi": f"'{upload.filename}' có chứa mã lệnh "
                              "(JavaScript): hãy in lại ra PDF hoặc quét bản giấy."}])
            return media_type
    kinds = ", ".join(sorted(accept or EXTENSIONS))
    raise InvalidData(f"{field}: '{upload.filename}' is not an accepted file type ({kinds}).",
                      vi=f"{field}: '{upload.filename}' không đúng loại tệp được chấp nhận ({kinds}).",
                      details=[{"field": field, "message": f"'{upload.filename}' is not an "
                                f"accepted file type ({kinds}).",
                                "message_vi": f"'{upload.filename}' không đúng loại tệp được "
                                f"chấp nhận ({kinds})."}])


#: PDF names that run something when the file is opened or a field is touched.
_ACTIVE_NAMES = frozenset({b"JavaScript", b"JS", b"Launch", b"SubmitForm", b"ImportData",
                           b"RichMedia", b"EmbeddedFile"})
_PDF_NAME = re.compile(rb"/([^\s/<>\[\]()%{}]+)")
_PDF_STREAM = re.compile(rb"stream\r?\n")
#: How much of the file's compressed streams is inflated to look inside (object streams
#: hide names there); a PDF that inflates to more is refused as suspicious.
_MAX_INFLATED = 64 * 1024 * 1024


def pdf_has_active_content(content: bytes) -> bool:
    """Whether a PDF carries JavaScript or other actions run by a viewer: names such as
    ``/JavaScript`` or ``/Launch``, also written with ``#xx`` escapes or inside compressed
    object streams. A scan of names, not a parser: a scanned or printed document has none
    of them, and a false alarm only asks the applicant to print the file again."""
    budget = _MAX_INFLATED
    view = memoryview(content)
    chunks = [content]
    for match in _PDF_STREAM.finditer(content):
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(view[match.end():match.end() + budget], budget)
        except zlib.error:
            continue
        budget -= len(data)
        if budget <= 0:
            return True
        chunks.append(data)
    for chunk in chunks:
        for name in _PDF_NAME.findall(chunk):
            if b"#" in name:
                name = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                              name)
            if name in _ACTIVE_NAMES:
                return True
    return False


# Built once: the statements that store a dossier's files.
_LAST_REVISION = select(func.max(Document.revision)).where(
    Document.dossier_id == bindparam("dossier_id"), Document.name == bindparam("name"))
_LAST_REVISIONS = (select(Document.name, func.max(Document.revision))
                   .where(Document.dossier_id == bindparam("dossier_id"),
                          Document.name.in_(bindparam("names", expanding=True)))
                   .group_by(Document.name))


def _row(p, *, dossier_id: int | None, name: str, filename: str, media_type: str,
         content: bytes, kind: str, created_by_id: int | None, signatures: int,
         revision: int) -> dict:
    """A document row's columns, its bytes stored."""
    return {"dossier_id": dossier_id, "name": name, "kind": kind,
            "filename": _base_name(filename)[:255] or name, "media_type": media_type,
            "size": len(content), "sha256": hashlib.sha256(content).hexdigest(),
            "storage_key": p.storage.put(content), "revision": revision,
            "signatures": signatures, "created_by_id": created_by_id}


def _base_name(filename: str) -> str:
    """``PurePath(filename).name``, without making a path of a plain name."""
    return filename if "/" not in filename and filename != "." else PurePath(filename).name


def store_document(p, session: Session, *, dossier: Dossier | None, name: str, filename: str,
                   media_type: str, content: bytes, kind: str = "upload",
                   created_by_id: int | None = None, signatures: int = 0) -> Document:
    """Store bytes and add a document row; a new revision if the dossier has this name already."""
    revision = 1
    if dossier is not None and dossier.id is not None:
        # on the connection: no autoflush of what the caller has not flushed yet
        revision = (session.connection().execute(
            _LAST_REVISION, {"dossier_id": dossier.id, "name": name}).scalar() or 0) + 1
    doc = Document(**_row(p, dossier_id=dossier.id if dossier is not None else None, name=name,
                          filename=filename, media_type=media_type, content=content,
                          kind=kind, created_by_id=created_by_id, signatures=signatures,
                          revision=revision))
    session.add(doc)
    session.flush()
    return doc


def store_uploads(p, session: Session, dossier: Dossier | Opening,
                  files: dict[str, tuple[Upload, str]], *, created_by_id: int | None,
                  opened: bool = False) -> dict[str, int]:
    """Store the uploads of ``dossier``, ``{name: (upload, media type)}``, each the next
    revision of its name, in one read of their revisions (none when the dossier was
    ``opened`` by this transaction: it has no files yet) and one insert built once per
    number of files, sent on the driver (:func:`engine.step.sql.inserted`: no ORM
    objects); ``{name: document id}``. ``dossier``: a dossier whose row is written, or a new
    one whose row is not yet (:class:`Opening`: it writes the files with its row)."""
    if not files:
        return {}
    new = not isinstance(dossier, Dossier)
    last = {} if opened or new else dict(
        session.connection().execute(
            _LAST_REVISIONS, {"dossier_id": dossier.id, "names": list(files)}).all())
    now = clock.now()
    rows = [{**_row(p, dossier_id=None, name=name, filename=upload.filename,
                    media_type=media_type, content=upload.content, kind="upload",
                    created_by_id=created_by_id, signatures=0,
                    revision=last.get(name, 0) + 1), "created_at": now}
            for name, (upload, media_type) in files.items()]
    ids = dossier.write(session, rows) if new else insert_documents(session, dossier.id, rows)
    return {name: ids[name] for name in files}


class Opening(Protocol):
    """A new dossier whose row is not written yet (engine.dossiers.Opening)."""

    def write(self, session: Session, documents: list[dict]) -> dict[str, int]:
        """Write the dossier's row and its ``documents`` (rows without their dossier's
        id); their ids by name."""


def insert_documents(session: Session, dossier_id: int, rows: list[dict]) -> dict[str, int]:
    """Insert the document ``rows`` (of the same columns, each with its own ``name``) of
    the dossier ``dossier_id`` now; their ids by name."""
    if not rows:
        return {}
    return dict(sql.inserted(session, Document.__table__,
                             [{**row, "dossier_id": dossier_id} for row in rows],
                             (Document.name, Document.id)))


def latest(session: Session, dossier_id: int, name: str) -> Document | None:
    return session.execute(
        select(Document).where(Document.dossier_id == dossier_id, Document.name == name)
        .order_by(Document.revision.desc()).limit(1)).scalar()


def unaccented(text: str) -> str:
    """``text`` in lower case without its diacritics, đ as d: ``Giấy phép`` → ``giay phep``."""
    text = unicodedata.normalize("NFD", str(text or "")).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in text if unicodedata.category(c) != "Mn").casefold()


def file_name(title: str, code: str, extension: str = "pdf") -> str:
    """A document's file name in Vietnamese words without diacritics (every system keeps
    them intact) with the dossier code: ``giay-phep-kinh-doanh-van-tai-<code>.pdf``."""
    words = re.sub(r"[^a-z0-9]+", "-", unaccented(title)).strip("-")[:80].strip("-")
    return f"{words or 'van-ban'}-{code}.{extension}"


def check_url(settings, code: str) -> str:
    """The public page a slip's or a result's QR code opens: the dossier's status by its
    code (and the applicant's ID number) and the verification of a signed document."""
    return f"{settings.public_url.rstrip('/')}/tra-cuu?{urlencode({'code': code})}"


def view(doc: Document) -> dict:
    return {"id": doc.id, "name": doc.name, "filename": doc.filename,
            "media_type": doc.media_type, "size": doc.size, "kind": doc.kind,
            "revision": doc.revision, "signatures": doc.signatures,
            "created_at": doc.created_at.isoformat()}


def can_see_dossier(user, dossier: Dossier, session: Session | None = None) -> bool:
    """The applicant, the staff of the dossier's agency, administrators, and the leadership
    of an agency above it. ``session`` reads the agencies above (default: the dossier's)."""
    if user is None:
        return False
    if dossier.applicant_id == user.id or user.is_admin:
        return True
    if not user.is_staff:
        return False
    if any(agency == dossier.agency.code for _, agency in user.roles):
        return True
    return _leader_above(user, dossier, session)


def _leader_above(user, dossier: Dossier, session: Session | None) -> bool:
    """The province's leadership (role ``leader``) sees the dossiers of the agencies under
    the agency they lead: the late dossiers their statistics list."""
    leading = {agency for role, agency in user.roles if role == RoleCode.LEADER}
    if session is None and isinstance(dossier, Dossier):
        session = object_session(dossier)
    if not leading or session is None:
        return False
    agency_id, seen = dossier.agency_id, set()
    while agency_id is not None and agency_id not in seen:
        seen.add(agency_id)
        row = session.execute(select(Agency.code, Agency.parent_id)
                              .where(Agency.id == agency_id)).first()
        if row is None:
            return False
        if row.code in leading:
            return True
        agency_id = row.parent_id
    return False


#: The statuses in which a dossier's result has been issued to its applicant.
RESULT_ISSUED = frozenset({"processed", "returned"})


def is_agency_side(user, dossier: Dossier) -> bool:
    """Staff of the dossier's agency, or an administrator."""
    return user is not None and (user.is_admin or (user.is_staff and any(
        agency == dossier.agency.code for _, agency in user.roles)))


def withheld(user, dossier: Dossier, doc: Document) -> bool:
    """Whether ``doc`` is kept from ``user`` for now: a result document (an entry of the
    procedure's ``documents:``, e.g. the licence, the badge, the certificate) reaches the
    applicant with the result, once the dossier is processed or returned — not while it is
    being signed, nor while a level-4 fee is unpaid. Slips and uploads are never withheld;
    the agency's staff see everything."""
    if is_agency_side(user, dossier) or dossier.status in RESULT_ISSUED:
        return False
    results = (dossier.version.meta or {}).get("documents") or {}
    return doc.kind == "generated" and doc.name in results


def open_document(p, user, document_id: int) -> tuple[dict, bytes]:
    """A document's description and bytes, for the dossier's applicant or its agency's staff
    (a result document only once it is issued: :func:`withheld`)."""
    with p.db.read() as session:
        doc = session.get(Document, document_id)
        if doc is None:
            raise NotFound("No such document.", vi="Không tìm thấy tài liệu.")
        dossier = session.get(Dossier, doc.dossier_id) if doc.dossier_id else None
        if dossier is None or not can_see_dossier(user, dossier):
            raise PermissionDenied("You may not open this document.",
                                   vi="Bạn không có quyền xem tài liệu này.")
        if withheld(user, dossier, doc):
            raise PermissionDenied(
                "The result is delivered when the dossier is returned (after the fee is "
                "paid, where one is due).",
                vi="Kết quả được trả khi hồ sơ đã có kết quả giải quyết (sau khi nộp phí, lệ "
                   "phí nếu có).")
        if not is_agency_side(user, dossier) and _superseded(session, dossier, doc):
            raise PermissionDenied(
                "This is an earlier draft of the result; open the final signed result.",
                vi="Đây là bản nháp trước của kết quả; hãy mở kết quả đã ký cuối cùng.")
        described, key, dossier_id = view(doc), doc.storage_key, dossier.id
        first_download = (dossier.status == "processed" and dossier.applicant_id == user.id
                          and is_result(dossier, doc))
    content = p.storage.get(key)
    if first_download:  # the applicant has the result: it is returned online
        from .handover import record_download

        record_download(p, user, dossier_id)
    return described, content


def is_result(dossier: Dossier, doc: Document) -> bool:
    """A result document of the dossier (an entry of its procedure's ``documents:``)."""
    results = (dossier.version.meta or {}).get("documents") or {}
    return doc.kind == "generated" and doc.name in results


def _superseded(session: Session, dossier: Dossier, doc: Document) -> bool:
    """Whether ``doc`` is a result document with a later revision (a draft, or signed by
    fewer than all its signers): only the agency opens those."""
    if doc.name not in ((dossier.version.meta or {}).get("documents") or {}):
        return False
    newest = session.execute(select(func.max(Document.revision)).where(
        Document.dossier_id == dossier.id, Document.name == doc.name)).scalar()
    return newest is not None and doc.revision < newest
