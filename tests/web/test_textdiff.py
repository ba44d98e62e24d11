"""Word-level changes between two versions of a text (portal.textdiff)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from portal.textdiff import compare, tokens


def test_a_corrected_figure_is_the_only_change_marked():
    before = "The bot answered 9,400 calls in eight weeks."
    after = "The bot answered 9,100 calls in eight weeks."
    assert compare(before, after)[0] == [("The bot answered ", False), ("9,400", True),
                                                 (" calls in eight weeks.", False)]
    assert compare(before, after)[1] == [("The bot answered ", False), ("9,100", True),
                                                (" calls in eight weeks.", False)]


def test_chinese_is_compared_character_by_character():
    assert compare("八星期內回應了九千四百個查詢。", "八星期內回應了九千一百個查詢。")[1] == [
        ("八星期內回應了九千", False), ("一", True), ("百個查詢。", False)]


def test_added_and_removed_text_show_on_their_own_side_only():
    assert compare("Adopt it.", "Adopt it in two clinics.")[0] == [("Adopt it.", False)]
    assert compare("Adopt it.", "Adopt it in two clinics.")[1] == [
        ("Adopt it", False), (" in two clinics", True), (".", False)]
    assert compare("", "New text")[1] == [("New text", True)]
    assert compare("Old text", "")[0] == [("Old text", True)]


@given(st.text(), st.text())
def test_each_side_reads_back_as_its_text(before, after):
    assert "".join(tokens(before)) == before
    assert "".join(piece for piece, _changed in compare(before, after)[0]) == before
    assert "".join(piece for piece, _changed in compare(before, after)[1]) == after


def test_a_very_long_text_reads_as_changed_whole_rather_than_being_compared():
    from portal.textdiff import MAX_TOKENS, compare

    before, after = "字" * (MAX_TOKENS + 1), "字" * MAX_TOKENS + "詞"
    assert compare(before, after) == ([(before, True)], [(after, True)])
    assert compare("", "新") == ([], [("新", True)])
