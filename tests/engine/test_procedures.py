"""The public catalogue of procedures (:mod:`engine.procedures`)."""

from __future__ import annotations

import pytest

from engine import procedures
from engine.errors import NotFound

CODE = "transport-business-licence"
MAIN_AGENCY = "000.00.14.H56"


def test_the_catalogue_never_shows_the_administrators_fee_note(platform):
    catalogue = procedures.list_procedures(platform)
    assert CODE in {item["code"] for item in catalogue}
    for item in catalogue:
        assert "admin_note" not in item["fee"]
        assert "admin_note" not in procedures.get_procedure(platform, item["code"])["fee"]
    fee = next(item["fee"] for item in catalogue if item["code"] == CODE)
    assert fee["note"]["vi"]  # the public's own note stays


def test_a_procedure_comes_with_its_form_and_the_agencies_that_receive_it(platform):
    procedure = procedures.get_procedure(platform, CODE)
    assert MAIN_AGENCY in [agency["code"] for agency in procedure["agencies"]]
    assert procedure["form"] and procedure["version"] >= 1


def test_an_unknown_procedure_is_not_found_in_both_languages(platform):
    with pytest.raises(NotFound) as raised:
        procedures.get_procedure(platform, "no-such-procedure")
    assert "no-such-procedure" in raised.value.message
    assert "Không tìm thấy thủ tục" in raised.value.vi


def test_the_catalogue_is_searched_by_words_with_or_without_diacritics(platform):
    def found(search: str) -> list[str]:
        return [v["code"] for v in procedures.list_procedures(platform, search)]

    everything = found("")
    assert len(everything) >= 3
    assert found("phù hiệu") == found("PHU HIEU") == ["vehicle-badge"]
    assert found("giay phep van tai") == ["transport-business-licence"]
    assert found("transport licence") == ["transport-business-licence"]  # English names
    assert set(found("Đường bộ")) == {"transport-business-licence", "vehicle-badge"}  # field
    assert found("Sở Giao thông vận tải") == found("đường bộ")  # the deciding agency
    assert found("thủ tục không có") == [] and found("   ") == everything
