"""The Decision 766/QĐ-TTg scorecard (bộ chỉ số phục vụ người dân, doanh nghiệp): 100
points in five groups, each indicator scored from the figures of :mod:`engine.stats`.

Scoring (DOMAIN.md §4): full points at or above the indicator's threshold, otherwise
``ratio × points ÷ threshold``. The points and thresholds below are **unconfirmed**: they
are defaults an administrator overrides in the ``scorecard_rule`` table
(:func:`set_rule`) and marks confirmed once checked against the Decision. An indicator
the portal cannot know (published procedures, complaints, re-use of
the citizen's data store) has the value None and no points — never 0 — with the reason;
a group whose indicators are all unknown has points None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from . import clock
from .errors import InvalidData
from .stats_models import ScorecardRule


@dataclass(frozen=True)
class Indicator:
    key: str
    group: str
    points: float
    threshold: float
    label_vi: str
    label_en: str
    value: Callable[[dict, dict], float | None] | None = None  # None: unknown to the portal
    unknown_because: str = ""


def _avg_within_deadline(figures: dict, offer: dict) -> float | None:
    """Share of procedures whose average processing time is within their legal deadline."""
    averages = figures["average_processing_time"].values()
    judged = [a for a in averages if a["deadline"]]
    if not judged:
        return None
    return sum(1 for a in judged if a["average"] <= a["deadline"]) / len(judged)


def _filed_online(figures: dict, offer: dict) -> float | None:
    return figures["share_by_channel"]["online"]


NOT_RECORDED = "not recorded by the portal"

#: The indicators, their groups and default (unconfirmed) points and thresholds.
INDICATORS: tuple[Indicator, ...] = (
    Indicator("published", "transparency", 9, 1.0, "Công khai thủ tục đúng hạn, đầy đủ",
              "Procedures published on time and complete",
              unknown_because="publication in the national procedure database is " + NOT_RECORDED),
    Indicator("synced", "transparency", 9, 1.0, "Hồ sơ đồng bộ lên Cổng Dịch vụ công quốc gia",
              "Dossiers synchronised with the national portal",
              value=lambda figures, offer: figures["share_synchronised"]),
    Indicator("on_time", "progress", 14, 1.0, "Hồ sơ giải quyết trước hạn, đúng hạn",
              "Dossiers processed early or on time", lambda f, o: f["share_on_time"]),
    Indicator("processing_time", "progress", 6, 1.0, "Thời gian giải quyết trung bình trong hạn",
              "Average processing time within the deadline", _avg_within_deadline),
    Indicator("procedures_online", "online", 6, 0.8, "Thủ tục cung cấp trực tuyến",
              "Procedures offered online", lambda f, o: o["share_online"]),
    Indicator("filed_online", "online", 6, 0.5, "Hồ sơ nộp trực tuyến",
              "Dossiers filed online", _filed_online),
    Indicator("procedures_payable", "online", 5, 0.8, "Thủ tục thanh toán trực tuyến được",
              "Procedures payable online", lambda f, o: o["share_payable_online"]),
    Indicator("paid_online", "online", 5, 0.8, "Hồ sơ thanh toán trực tuyến",
              "Dossiers paid online", lambda f, o: f["share_paid_online"]),
    Indicator("electronic_results", "digitisation", 8, 0.8, "Hồ sơ có kết quả điện tử",
              "Dossiers with an electronic result", lambda f, o: f["share_electronic_results"]),
    Indicator("digitised", "digitisation", 7, 0.8, "Hồ sơ được số hóa",
              "Dossiers digitised", lambda f, o: f["share_digitised"]),
    Indicator("reused", "digitisation", 7, 0.8, "Tái sử dụng dữ liệu số hóa",
              "Re-use of digitised data",
              unknown_because="re-use of the citizen's data store is " + NOT_RECORDED),
    Indicator("complaints_on_time", "satisfaction", 6, 0.9, "Phản ánh, kiến nghị xử lý đúng hạn",
              "Complaints handled on time", unknown_because="complaints are " + NOT_RECORDED),
    Indicator("complaint_satisfaction", "satisfaction", 6, 0.9,
              "Hài lòng về xử lý phản ánh, kiến nghị", "Satisfaction with complaint handling",
              unknown_because="complaints are " + NOT_RECORDED),
    Indicator("dossier_satisfaction", "satisfaction", 6, 0.9, "Hài lòng về giải quyết hồ sơ",
              "Satisfaction with dossier handling", lambda f, o: f["share_satisfied"]),
)
GROUPS = {"transparency": ("Công khai, minh bạch", "Transparency", 18),
          "progress": ("Tiến độ giải quyết", "Progress", 20),
          "online": ("Dịch vụ công trực tuyến", "Online services", 22),
          "digitisation": ("Số hóa hồ sơ", "Digitisation", 22),
          "satisfaction": ("Mức độ hài lòng", "Satisfaction", 18)}
BY_KEY = {i.key: i for i in INDICATORS}


def rules(p) -> dict[str, dict]:
    """Points, threshold and whether confirmed, per indicator: the table over the defaults."""
    out = {i.key: {"points": i.points, "threshold": i.threshold, "confirmed": False}
           for i in INDICATORS}
    with p.db.read() as session:
        for row in session.execute(select(ScorecardRule)).scalars():
            if row.indicator in out:
                out[row.indicator] = {"points": row.points, "threshold": row.threshold,
                                      "confirmed": row.confirmed}
    return out


def set_rule(p, indicator: str, *, points: float, threshold: float, confirmed: bool = False,
             note: str = "", actor: str = "system") -> None:
    """(Administrator) change an indicator's points and threshold."""
    if indicator not in BY_KEY:
        raise InvalidData(f"No scorecard indicator {indicator!r}.",
                          vi=f"Không có chỉ số {indicator!r} trong bộ chỉ số.",
                          details=[{"field": "indicator", "message": "unknown"}])
    if points < 0 or not 0 < threshold <= 1:
        raise InvalidData("Points must be 0 or more and the threshold a share above 0 and at most 1.",
                          vi="Điểm phải từ 0 trở lên, ngưỡng là tỷ lệ lớn hơn 0 và không quá 1.",
                          details=[{"field": "threshold", "message": "0 < threshold <= 1"}])
    with p.db.transaction() as session:
        row = session.get(ScorecardRule, indicator) or ScorecardRule(indicator=indicator)
        row.points, row.threshold, row.confirmed = float(points), float(threshold), confirmed
        row.note, row.updated_by, row.updated_at = note, actor, clock.now()
        session.add(row)


def points_for(ratio: float | None, points: float, threshold: float) -> float | None:
    """Full points at or above the threshold, else ``ratio × points ÷ threshold``."""
    if ratio is None:
        return None
    return round(points if ratio >= threshold else ratio * points / threshold, 2)


def _indicator_row(indicator: Indicator, rule: dict, figures: dict, offer: dict) -> dict:
    value = indicator.value(figures, offer) if indicator.value else None
    reason = indicator.unknown_because or ("" if value is not None else "no dossiers in scope")
    return {"indicator": indicator.key, "label_vi": indicator.label_vi,
            "label_en": indicator.label_en, "value": value, "max_points": rule["points"],
            "threshold": rule["threshold"], "confirmed": rule["confirmed"],
            "points": points_for(value, rule["points"], rule["threshold"]),
            "unknown": reason or None}


def score(p, figures: dict, offer: dict) -> list[dict]:
    """The five groups with their indicators and points."""
    table = rules(p)
    out = []
    for group, (vi, en, _) in GROUPS.items():
        rows = [_indicator_row(i, table[i.key], figures, offer) for i in INDICATORS if i.group == group]
        known = [r for r in rows if r["points"] is not None]
        out.append({"group": group, "label_vi": vi, "label_en": en,
                    "max_points": sum(r["max_points"] for r in rows),
                    "points": round(sum(r["points"] for r in known), 2) if known else None,
                    "max_known": sum(r["max_points"] for r in known), "indicators": rows})
    return out
