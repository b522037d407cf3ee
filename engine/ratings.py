"""The applicant's rating of a dossier (đánh giá mức độ hài lòng) on the national criteria
(DOMAIN.md §3): once the dossier has ended, online or on a tablet at the counter. One rating
per dossier; its applicant may change it for ``Settings.rating_change_days`` after first
giving it, never after. The applicant is the signed-in owner, or whoever has the dossier's
code and the applicant's ID number (the counter tablet, a counter applicant without an
account). An overall "dissatisfied" counts against the satisfaction indicator."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from . import audit, clock
from .errors import Conflict, InvalidData
from .lookup import not_found
from .models import Dossier
from .stats_models import Rating

LEVELS = {"very_satisfied": ("Rất hài lòng", "Very satisfied"),
          "satisfied": ("Hài lòng", "Satisfied"),
          "dissatisfied": ("Không hài lòng", "Dissatisfied")}
#: The national criteria; ``overall`` is required, the others optional.
CRITERIA = {
    "overall": ("Mức độ hài lòng chung", "Overall satisfaction"),
    "timeliness": ("Thời gian giải quyết", "Timeliness"),
    "visits": ("Số lần đi lại, liên hệ", "Number of visits and contacts"),
    "counter": ("Tiếp nhận, trả kết quả tại bộ phận một cửa", "Handling at the counter"),
    "publicity": ("Công khai thủ tục", "Publicity of the procedure"),
    "complaints": ("Tiếp nhận, xử lý phản ánh, kiến nghị", "Response to complaints"),
    "online": ("Chất lượng dịch vụ công trực tuyến", "Online service quality"),
    "attitude": ("Thái độ của cán bộ", "Staff attitude"),
}
#: A dossier can be rated once it ended with a decision (not withdrawn).
RATEABLE = {"processed", "returned", "refused", "stopped"}
PLACES = ("online", "counter")


def _bad(field: str, en: str, vi: str) -> InvalidData:
    return InvalidData(en, vi=vi, details=[{"field": field, "message": en, "message_vi": vi}])


def clean_scores(scores: dict) -> dict:
    """Only known criteria and levels; ``overall`` required."""
    out = {}
    for key, value in (scores or {}).items():
        if not value:
            continue
        if key not in CRITERIA or value not in LEVELS:
            raise _bad(key, f"Unknown criterion or level: {key}={value}.",
                       f"Tiêu chí hoặc mức đánh giá không hợp lệ: {key}={value}.")
        out[key] = value
    if "overall" not in out:
        raise _bad("overall", "Choose your overall satisfaction.",
                   "Hãy chọn mức độ hài lòng chung.")
    return out


def _dossier(session, code: str, user, id_number: str | None) -> Dossier:
    dossier = session.execute(select(Dossier).where(Dossier.code == (code or "").strip())).scalar()
    by_id = dossier is not None and bool(id_number) and (
        id_number.strip() == (dossier.applicant.id_number or "")) and dossier.applicant.id_number
    if dossier is None or not (by_id or (user is not None and dossier.applicant_id == user.id)):
        raise not_found(Dossier, code, for_person=True)
    return dossier


def get_rating(p, code: str, *, user=None, id_number: str | None = None) -> dict | None:
    """The dossier's rating, with whether it can still be given or changed."""
    with p.db.read() as session:
        dossier = _dossier(session, code, user, id_number)
        rating = session.get(Rating, dossier.id)
        return _view(p, dossier, rating)


def _view(p, dossier: Dossier, rating: Rating | None) -> dict:
    until = (rating.created_at + timedelta(days=p.settings.rating_change_days)) if rating else None
    open_ = dossier.status in RATEABLE and (rating is None or clock.now() <= until)
    return {"code": dossier.code, "status": dossier.status, "can_rate": open_,
            "scores": dict(rating.scores) if rating else {}, "comment": rating.comment if rating else "",
            "changeable_until": until.isoformat() if until else None}


def rate(p, code: str, scores: dict, *, user=None, id_number: str | None = None,
         comment: str = "", place: str = "online") -> dict:
    """Give or change the dossier's rating. Conflict for a dossier not ended yet, or a
    rating older than the time allowed to change it; nothing changes then."""
    scores = clean_scores(scores)
    place = place if place in PLACES else "online"
    with p.db.transaction() as session:
        dossier = _dossier(session, code, user, id_number)
        if dossier.status not in RATEABLE:
            raise Conflict(f"Dossier {dossier.code} has not ended yet: rate it once it has a result.",
                           vi=f"Hồ sơ {dossier.code} chưa giải quyết xong: hãy đánh giá khi đã có "
                              "kết quả.")
        rating = session.get(Rating, dossier.id)
        now = clock.now()
        if rating is not None and now > rating.created_at + timedelta(days=p.settings.rating_change_days):
            raise Conflict(f"The rating of dossier {dossier.code} can no longer be changed "
                           f"({p.settings.rating_change_days} days have passed).",
                           vi=f"Đã quá {p.settings.rating_change_days} ngày, không thể thay đổi "
                              f"đánh giá hồ sơ {dossier.code}.")
        if rating is None:
            rating = Rating(dossier_id=dossier.id, user_id=dossier.applicant_id, created_at=now)
            session.add(rating)
        rating.scores, rating.comment = scores, (comment or "").strip()[:2000]
        rating.place, rating.updated_at = place, now
        audit.append(session, actor=user.username if user else "applicant", action="rating",
                     dossier_id=dossier.id, detail={"scores": scores, "place": place})
        session.flush()
        return _view(p, dossier, rating)
