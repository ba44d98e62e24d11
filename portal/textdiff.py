"""What changed between two versions of a text, word by word, for people to read.

English is compared word by word (with the spaces and punctuation between words kept), Chinese
character by character (it has no spaces), so a corrected figure shows as the figure alone, not
as the whole paragraph struck out. :func:`compare` gives the text of each side cut into pieces,
each kept or changed; a template marks the changed ones (``<del>`` before, ``<ins>`` after).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

#: A word of letters or digits (with inner ' . , - such as "don't", "9,400" or "3.5"), one Han
#: character, or any other single character (space, punctuation).
_TOKEN = re.compile(r"[^\W\u3400-\u9fff\uf900-\ufaff]+(?:['.,\-][^\W\u3400-\u9fff\uf900-\ufaff]+)*|.", re.DOTALL)

def tokens(text: str) -> list[str]:
    """``text`` cut into words, Han characters and single other characters; joined, they are ``text``."""
    return _TOKEN.findall(text)


#: Above this many pieces on a side the comparison (quadratic at worst, on Chinese with its few
#: distinct characters) is skipped: the whole text reads as changed, as before word diffs.
MAX_TOKENS = 3000

Pieces = list[tuple[str, bool]]


def compare(before: str, after: str) -> tuple[Pieces, Pieces]:
    """Both sides of the comparison, each as (piece, changed) in order: the pieces of ``before``
    with those removed marked, and of ``after`` with those added marked. Neighbouring pieces of
    one kind are joined."""
    old, new = tokens(before or ""), tokens(after or "")
    if len(old) > MAX_TOKENS or len(new) > MAX_TOKENS:
        return ([(before, True)] if before else []), ([(after, True)] if after else [])
    was: Pieces = []
    now: Pieces = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        _append(was, "".join(old[i1:i2]), tag != "equal")
        _append(now, "".join(new[j1:j2]), tag != "equal")
    return was, now


def _append(pieces: Pieces, text: str, changed: bool) -> None:
    if not text:
        return
    if pieces and pieces[-1][1] == changed:
        pieces[-1] = (pieces[-1][0] + text, changed)
    else:
        pieces.append((text, changed))
