"""Word-level changes between two versions of a text (portal.textdiff)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from portal.textdiff import changes, tokens


def test_a_corrected_figure_is_the_only_change_marked():
    before = "The bot answered 9,400 calls in eight weeks."
    after = "The bot answered 9,100 calls in eight weeks."
    assert changes(before, after, "before") == [("The bot answered ", False), ("9,400", True),
                                                 (" calls in eight weeks.", False)]
    assert changes(before, after, "after") == [("The bot answered ", False), ("9,100", True),
                                                (" calls in eight weeks.", False)]


def test_chinese_is_compared_character_by_character():
    assert changes("八星期內回應了九千四百個查詢。", "八星期內回應了九千一百個查詢。", "after") == [
        ("八星期內回應了九千", False), ("一", True), ("百個查詢。", False)]


def test_added_and_removed_text_show_on_their_own_side_only():
    assert changes("Adopt it.", "Adopt it in two clinics.", "before") == [("Adopt it.", False)]
    assert changes("Adopt it.", "Adopt it in two clinics.", "after") == [
        ("Adopt it", False), (" in two clinics", True), (".", False)]
    assert changes("", "New text", "after") == [("New text", True)]
    assert changes("Old text", "", "before") == [("Old text", True)]


@given(st.text(), st.text())
def test_each_side_reads_back_as_its_text(before, after):
    assert "".join(tokens(before)) == before
    assert "".join(piece for piece, _changed in changes(before, after, "before")) == before
    assert "".join(piece for piece, _changed in changes(before, after, "after")) == after


def test_a_very_long_text_reads_as_changed_whole_rather_than_being_compared():
    from portal.textdiff import MAX_TOKENS, compare

    before, after = "字" * (MAX_TOKENS + 1), "字" * MAX_TOKENS + "詞"
    assert compare(before, after) == ([(before, True)], [(after, True)])
    assert compare("", "新") == ([], [("新", True)])
