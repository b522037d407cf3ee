"""The tables of the statistics feature: the applicant's rating of a dossier and the
scorecard's rules (points and thresholds an administrator edits), on the shared
:class:`engine.columns.Base` and gathered by :mod:`engine.schema`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .columns import Base, utcnow


class Rating(Base):
    """The applicant's evaluation of a dossier (đánh giá mức độ hài lòng) on the national
    criteria: one per dossier, changeable for a while after it was first given
    (:mod:`engine.ratings`). ``scores`` maps a criterion to a level."""

    __tablename__ = "rating"

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(10), default="online")  # online | counter
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScorecardRule(Base):
    """The points and threshold of one Decision 766 indicator. The defaults in
    :data:`engine.scorecard.DEFAULT_RULES` are unconfirmed (DOMAIN.md §4); an administrator
    changes them here and marks them confirmed once checked against the Decision."""

    __tablename__ = "scorecard_rule"

    indicator: Mapped[str] = mapped_column(String(60), primary_key=True)
    points: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(80), default="system")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
