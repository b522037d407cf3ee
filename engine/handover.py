"""Processed and returned (đã giải quyết xong, đã trả kết quả): two national end states,
told apart for every procedure without any diagram drawing them (DOMAIN.md §3).

A diagram says the result is out by setting the status ``processed`` — or ``returned``,
which the engine records as ``processed`` too (:func:`status_for`): a diagram cannot know
when the applicant actually got the result. The hand-over is recorded here:

- at the counter or by post, by a reception officer of the dossier's agency
  (:func:`hand_over`);
- online, when the applicant first downloads a result document
  (:func:`record_download`, called by :func:`engine.documents.open_document`).

Either moves the dossier from ``processed`` to ``returned`` with ``returned_at`` and
``return_method``, audited. ``finished_at`` stays the moment the result was ready, which is
what on time is judged by.
"""

from __future__ import annotations

from . import audit, clock
from .errors import Conflict, InvalidData, PermissionDenied
from .lookup import by_code
from .models import Dossier
from .step import load
from .vocabulary import RoleCode

#: How a result reaches its applicant.
METHODS = ("counter", "post", "online")
#: Officers of the dossier's agency who hand results over.
HANDING_ROLES = (RoleCode.RECEPTION,)


def status_for(requested: str) -> str:
    """The status a diagram's ``set_status`` records: ``returned`` means result ready."""
    return "processed" if requested == "returned" else requested


def can_hand_over(user, dossier: dict) -> bool:
    """Whether ``user`` may record the hand-over of this dossier view now."""
    agency = (dossier.get("agency") or {}).get("code")
    return (user is not None and dossier.get("status") == "processed"
            and any(user.has_role(role, agency) for role in HANDING_ROLES))


def hand_over(p, user, code: str, method: str) -> dict:
    """A reception officer records that the result was handed over at the counter or sent
    by post. Conflict when the result is not ready or already returned."""
    if method not in ("counter", "post"):
        raise InvalidData("Choose how the result was handed over: at the counter or by post.",
                          vi="Hãy chọn hình thức trả kết quả: tại bộ phận một cửa hoặc qua "
                             "bưu chính.", details=[{"field": "method", "message": "counter|post"}])
    with p.db.transaction() as session:
        dossier = _find(session, code)
        if not any(user.has_role(role, dossier.agency.code) for role in HANDING_ROLES):
            raise PermissionDenied("Only the agency's reception officers hand results over.",
                                   vi="Chỉ cán bộ tiếp nhận của cơ quan được trả kết quả.")
        dossier = load.lock_dossier(session, dossier.id)
        _mark_returned(session, dossier, method, user.username)
        return {"code": dossier.code, "status": dossier.status, "method": method,
                "returned_at": dossier.returned_at.isoformat()}


def record_download(p, user, dossier_id: int) -> bool:
    """The applicant downloaded a result: a processed dossier is now returned online.
    True if this download was the hand-over."""
    with p.db.transaction() as session:
        dossier = load.lock_dossier(session, dossier_id)
        if dossier.status != "processed" or dossier.applicant_id != user.id:
            return False
        _mark_returned(session, dossier, "online", user.username)
        return True


def _find(session, code: str) -> Dossier:
    return by_code(session, Dossier, code)


def _mark_returned(session, dossier: Dossier, method: str, actor: str) -> None:
    if dossier.status != "processed":
        raise Conflict(f"Dossier {dossier.code} has no result ready to hand over "
                       f"(its status is {dossier.status}).",
                       vi=f"Hồ sơ {dossier.code} chưa có kết quả để trả hoặc đã trả kết quả.")
    dossier.status, dossier.returned_at, dossier.return_method = "returned", clock.now(), method
    audit.append(session, actor=actor, action="returned", dossier_id=dossier.id,
                 detail={"from": "processed", "to": "returned", "method": method})
