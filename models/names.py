"""Human names (people, startups, departments, capabilities, challenge titles) as stored.

A name is one line of visible text: ``clean_name`` NFKC-normalises it (full-width letters,
ligatures and compatibility forms become their plain equivalents; the full-width punctuation
Chinese is written with, （）：，！？, stays as typed), removes the invisible
characters that let two names look the same while differing (zero-width characters) or
make a name display in a different order than it is stored (bidirectional controls),
turns control characters and line breaks into spaces and collapses white space.
``name_key`` is the form two names are compared by: cleaned and case-folded.
"""

from __future__ import annotations

import re
import unicodedata

#: Bidirectional formatting controls: embeddings and overrides (U+202A-U+202E), isolates
#: (U+2066-U+2069), the left-to-right / right-to-left marks and the Arabic letter mark.
BIDI_CONTROLS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)] + ["\u200e", "\u200f", "\u061c"]
)
#: Zero-width space, non-joiner and joiner, word joiner, byte-order mark / zero-width no-break space.
ZERO_WIDTH = frozenset(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
INVISIBLE = BIDI_CONTROLS | ZERO_WIDTH
_REMOVE = {ord(ch): None for ch in INVISIBLE}
# White space, C0/C1 controls and the Unicode line and paragraph separators.
_BLANKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")


#: Full-width punctuation (U+FF01-FF5E that is not a letter or digit: （）：，！？％): how
#: Chinese is punctuated, so a name keeps it as typed. NFKC would make it ASCII ("(已修訂)").
CHINESE_PUNCTUATION = frozenset(chr(c) for c in range(0xFF01, 0xFF5F) if not chr(c).isalnum())
_KEPT = re.compile("([" + re.escape("".join(sorted(CHINESE_PUNCTUATION))) + "]+)")


def strip_invisible(value: str) -> str:
    """``value`` NFKC-normalised, except for its full-width punctuation
    (:data:`CHINESE_PUNCTUATION`), without bidirectional controls and zero-width characters."""
    parts = _KEPT.split(value)
    # The odd parts are runs of kept punctuation, which combines with nothing around it.
    return "".join(p if i % 2 else unicodedata.normalize("NFKC", p) for i, p in enumerate(parts)).translate(_REMOVE)


def clean_name(value: str) -> str:
    """``value`` as a name is stored: normalised, visible characters only, on one line."""
    return _BLANKS.sub(" ", strip_invisible(value)).strip()


def name_key(value: str) -> str:
    """The form names are compared by: two names with the same key are the same name
    (fully NFKC-normalised, so 康健（香港） and 康健(香港) are the same name)."""
    return unicodedata.normalize("NFKC", clean_name(value)).casefold()


#: How much a Han character (CJK ideograph) counts towards a text's minimum length: about as
#: much as a short English word carries. A 10-character minimum would refuse 「可否延期？」
#: (five characters: "Can it be extended?"), which says as much as 20 English letters.
HAN_WEIGHT = 3
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


def has_han(value: str) -> bool:
    """Whether ``value`` holds a Han character (CJK ideograph)."""
    return _HAN.search(value) is not None


def weighted_length(value: str) -> int:
    """The length of ``value`` for a minimum-length rule: each Han character counts as
    :data:`HAN_WEIGHT` characters, everything else as one (maximums count characters as
    stored, ``len``)."""
    return len(value) + (HAN_WEIGHT - 1) * len(_HAN.findall(value))
