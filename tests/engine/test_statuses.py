"""The dossier statuses and what people read for them (:mod:`engine.statuses`)."""

from __future__ import annotations

import unicodedata

from engine.statuses import FINAL_STATUSES, STATUS_LABELS, STATUSES, status_labels


def test_every_status_has_a_vietnamese_and_an_english_label_and_every_end_is_a_status():
    assert set(STATUS_LABELS) == set(STATUSES)
    assert FINAL_STATUSES <= set(STATUSES)
    for vi, en in STATUS_LABELS.values():
        assert vi and en and vi == unicodedata.normalize("NFC", vi)


def test_a_supplemented_dossier_reads_as_being_processed_not_as_new():
    assert status_labels("submitted") == {"status_vi": "Mới nộp", "status_en": "Submitted",
                                          "supplemented": False}
    again = status_labels("submitted", supplemented=True)
    assert again["supplemented"] and again["status_vi"] == "Đã bổ sung, đang xử lý"
    later = status_labels("accepted", supplemented=True)  # only the return to "submitted"
    assert (later["status_vi"], later["supplemented"]) == ("Đã tiếp nhận", False)


def test_an_unknown_status_reads_as_itself():
    assert status_labels("archived")["status_en"] == "archived"
