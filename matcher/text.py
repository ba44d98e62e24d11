"""Text handling shared by the lexical scorers, the hashing encoder and explanations.

The tokenizer works on mixed English / Traditional Chinese text:

* Text is NFKC-normalised (full-width letters and digits become ASCII) and lower-cased.
* Latin runs ``[a-z0-9]+`` become word tokens; English stop words (scikit-learn's list)
  and one-character words are dropped; a conservative stemmer only strips a plural
  ``-s`` ("clinics" -> "clinic", but not "process" or "status"), so the shorter surface
  form of a stem is always a prefix of the longer ones. That keeps explanation terms
  truthful: the term shown is a substring of both texts.
* CJK runs have no word boundaries, so they become character unigrams plus bigrams
  (the standard trick for Chinese retrieval without a segmenter). Unigrams and bigrams
  containing common function characters (的, 和, 及, ...) are dropped.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator, Mapping
from functools import lru_cache
from types import MappingProxyType

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

__all__ = [
    "denies",
    "dense_text",
    "detect_language",
    "language_family",
    "normalize",
    "split_sentences",
    "surface_forms",
    "text_hash",
    "tokenize",
]

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[a-z0-9]+")
_CJK_RE = re.compile(rf"[{_CJK}]")
# Function characters that carry no topical meaning on their own.
_CJK_STOP = frozenset("的了和與及或在是有為之也而等於其我們這那個對就都將並以被由")
_NO_STEM_ENDINGS = ("ss", "us", "is", "os", "as")
# Sentence ends: Latin punctuation followed by space, CJK punctuation, or newlines.
_SENTENCE_RE = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])|\n+")
# Abbreviations whose full stop does not end a sentence ("Cap. 599", "e.g. a", "No. 3").
_ABBREVIATIONS = frozenset(
    ["cap", "caps", "no", "nos", "e.g", "i.e", "vs", "dr", "mr", "mrs", "ms", "prof", "st", "fig", "figs", "p", "pp", "para", "paras", "art", "arts", "sect", "sec", "ch", "vol", "approx", "dept", "govt", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mt", "rev", "gen", "hon", "sr", "jr", "op", "cf", "al", "viz", "ref", "est", "min", "max"]
)
_LAST_WORD = re.compile(r"(\S+)\.$")
# Sentences that deny a capability: never evidence for it.
_DENIAL_EN = re.compile(
    r"\b(?:do|does|did|is|are|was|were|can|could|will|would|should|has|have|had)\s*n[o']t\b"
    r"|\b(?:cannot|can't|won't|isn't|aren't|doesn't|don't|didn't|hasn't|haven't)\b"
    r"|\bnot\b|\bno longer\b|\bneither\b|\bnor\b|\bnever\b"
    r"|\bno\s+(?:plans?|support|services?|capability|intention)\b",
    re.IGNORECASE,
)
_DENIAL_ZH = re.compile(r"不提供|並非|并非|不是|沒有|没有|不會|不会|不包括|不設|不涉及|無法|未能|不能|非本|不再|不負責|不適用")


def normalize(text: str) -> str:
    """NFKC-normalise and lower-case ``text`` (what the tokenizer and explanations see).

    Args:
        text: Any text.

    Returns:
        The normalised text.
    """
    return unicodedata.normalize("NFKC", text).lower()


def _stem(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith(_NO_STEM_ENDINGS):
        return word[:-1]
    return word


def _iter_tokens(text: str) -> Iterator[tuple[str, str]]:
    """Yield ``(token, surface)`` pairs; surface is the normalised text the token came from."""
    for match in _TOKEN_RE.finditer(normalize(text)):
        run = match.group()
        if _CJK_RE.match(run):
            for i, ch in enumerate(run):
                if ch not in _CJK_STOP:
                    yield ch, ch
                if i + 1 < len(run) and ch not in _CJK_STOP and run[i + 1] not in _CJK_STOP:
                    yield run[i : i + 2], run[i : i + 2]
        elif len(run) > 1 and run not in ENGLISH_STOP_WORDS:
            yield _stem(run), run


def tokenize(text: str) -> list[str]:
    """Split text into lexical tokens (see the module docstring for the rules).

    This is a module-level function so that fitted scikit-learn vectorizers using it
    can be pickled.

    Args:
        text: English, Chinese or mixed text.

    Returns:
        Tokens in text order, repeated as often as they occur.
    """
    return [tok for tok, _ in _iter_tokens(text)]


def surface_forms(text: str) -> dict[str, set[str]]:
    """Map each token of ``text`` to the normalised surface strings it came from.

    Args:
        text: Any text.

    Returns:
        ``{token: {surface, ...}}``.
    """
    forms: dict[str, set[str]] = {}
    for tok, surface in _iter_tokens(text):
        forms.setdefault(tok, set()).add(surface)
    return forms


@lru_cache(maxsize=128)
def text_forms(text: str) -> Mapping[str, frozenset[str]]:
    """:func:`surface_forms` of ``text``, read-only and remembered for the texts seen last
    (explanations read the same query and candidate texts for many pairs)."""
    return MappingProxyType({tok: frozenset(forms) for tok, forms in surface_forms(text).items()})


@lru_cache(maxsize=512)
def normalized(text: str) -> str:
    """:func:`normalize`, remembered for the texts seen last."""
    return normalize(text)


def split_sentences(text: str, *, max_sentences: int = 12, max_chars: int = 300) -> list[str]:
    """Split text into sentences for sentence-pair explanations.

    Args:
        text: Any text; Chinese full stops and newlines also end sentences.
        max_sentences: Keep at most this many (the first ones, where officers and
            startups usually state the need or product).
        max_chars: Truncate each sentence to this many characters.

    Returns:
        Non-trivial sentences (at least 4 characters), stripped.
    """
    out: list[str] = []
    for part in _sentences(text):
        part = part.strip()
        if len(part) >= 4:
            out.append(part[:max_chars])
            if len(out) >= max_sentences:
                break
    return out


def _ends_sentence(piece: str, following: str) -> bool:
    """Whether the full stop ending ``piece`` ends a sentence, given what follows it."""
    if not piece.endswith("."):
        return True
    match = _LAST_WORD.search(piece)
    word = match.group(1).lower().lstrip("(\"'[") if match else ""
    if word in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):
        return False  # "Cap.", "e.g.", "i.e.", "U.S."
    # A single capital initial ("J. Smith") and a lower-case continuation.
    if re.fullmatch(r"[A-Z]", match.group(1) if match else ""):
        return False
    return not following[:1].islower()


def _sentences(text: str) -> list[str]:
    """Split at sentence ends, joining pieces that an abbreviation's full stop cut."""
    pieces = _SENTENCE_RE.split(text)
    out: list[str] = []
    pending = ""
    for i, piece in enumerate(pieces):
        following = pieces[i + 1].lstrip() if i + 1 < len(pieces) else ""
        pending = f"{pending} {piece}" if pending else piece
        if _ends_sentence(pending.rstrip(), following) or not following:
            out.append(pending)
            pending = ""
    if pending:
        out.append(pending)
    return out


def denies(sentence: str) -> bool:
    """Whether a sentence says something is *not* done or offered (a negation), so it
    cannot be evidence that it is ("We do not provide diagnosis", 「本系統不提供診斷」).

    Args:
        sentence: One sentence.

    Returns:
        True when it contains an English or Chinese negation.
    """
    return bool(_DENIAL_EN.search(sentence) or _DENIAL_ZH.search(sentence))


def dense_text(title: str, text: str, *, max_chars: int = 2000) -> str:
    """Build the string that is fed to the sentence encoder.

    The title goes first because encoders truncate at ``max_seq_length`` tokens
    (256 word pieces for all-MiniLM-L6-v2, roughly 180 English words), so the title and
    the opening of the text, where needs and products are usually summarised, are
    what the vector represents. Cutting at ``max_chars`` only saves tokenizer time.

    Args:
        title: Item title (may be empty).
        text: Item body text.
        max_chars: Hard cap on the returned length.

    Returns:
        ``"title. text"`` (title omitted when empty or already the start of the text).
    """
    title, text = title.strip(), text.strip()
    if title and not text.startswith(title):
        text = f"{title}. {text}" if text else title
    return text[:max_chars]


def detect_language(text: str) -> str:
    """Guess ``"zh-Hant"`` or ``"en"`` from the share of CJK characters.

    Args:
        text: Any text.

    Returns:
        ``"zh-Hant"`` when at least 20% of the letters are CJK, else ``"en"``.
    """
    letters = sum(ch.isalpha() for ch in text)
    if not letters:
        return "en"
    cjk = len(_CJK_RE.findall(text))
    return "zh-Hant" if cjk / letters >= 0.2 else "en"


def language_family(language: str | None) -> str:
    """Collapse a language tag to ``"en"``, ``"zh"`` or the lower-cased tag itself.

    Args:
        language: A BCP 47-ish tag such as ``"en"``, ``"en-GB"``, ``"zh-Hant"``, ``"zh_HK"``.

    Returns:
        ``"en"``, ``"zh"``, ``"und"`` for empty input, or the tag's primary subtag.
    """
    if not language:
        return "und"
    primary = str(language).replace("_", "-").split("-")[0].strip().lower()
    return primary or "und"


def text_hash(model_id: str, text: str, role: str = "passage") -> str:
    """Cache key for an embedding: sha256 of model id, role and text.

    The web layer stores embeddings keyed by ``(model_id, text_hash)`` so unchanged text
    is never re-encoded. Hash the exact string that is encoded (``dense_text(...)``).

    Args:
        model_id: ``Encoder.model_id`` (includes non-default prefixes).
        text: The exact text that was encoded.
        role: ``"passage"`` (default, what corpora are stored as) or ``"query"``; only
            matters for asymmetric models such as e5, but keeps keys distinct.

    Returns:
        64-character lowercase hex digest.
    """
    h = hashlib.sha256()
    for part in (model_id, role, text):
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()
