"""engine.lookup: a row by its code, or a NotFound that says what was looked for in both
languages; a dossier the caller may not see is "not found" in the same words."""

from __future__ import annotations

import pytest

from engine.errors import NotFound
from engine.lookup import by_code, not_found
from engine.models import Agency, Dossier, Procedure, User


def test_a_code_with_surrounding_spaces_finds_its_row(platform):
    with platform.db.read() as session:
        agency = by_code(session, Agency, "  000.00.14.H56 ")
        user = by_code(session, User, "doanhnghiep")
    assert agency.code == "000.00.14.H56" and user.username == "doanhnghiep"


def test_an_unknown_code_is_not_found_in_both_languages(platform):
    with pytest.raises(NotFound) as caught, platform.db.read() as session:
        by_code(session, Procedure, "khong-co")
    assert caught.value.status == 404
    assert caught.value.message == "No procedure 'khong-co'."
    assert caught.value.vi == "Không tìm thấy thủ tục 'khong-co'."


def test_a_row_the_caller_may_not_see_reads_like_an_unknown_one(platform):
    with platform.db.read() as session:
        code = by_code(session, User, "doanhnghiep").username  # any existing row
        with pytest.raises(NotFound) as hidden:
            by_code(session, User, code, where=lambda row: False, for_person=True)
    unknown = not_found(User, code, for_person=True)
    assert (hidden.value.message, hidden.value.vi) == (unknown.message, unknown.vi)
    assert hidden.value.vi.endswith("của người này.")


def test_a_missing_dossier_code_is_not_found_not_a_crash(platform):
    with pytest.raises(NotFound), platform.db.read() as session:
        by_code(session, Dossier, None)
