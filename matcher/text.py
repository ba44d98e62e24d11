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
# Closing quotes and brackets: right after a sentence end they belong to the sentence they
# close (「系統須於三秒內回應。」, He said "it works.").
_CLOSERS = "\"'\u2019\u201d)]}」』）］｝〕】〉》＂＇"
# Straight quotes open as well as close: after a CJK full stop one closes only an open quote.
_STRAIGHT_QUOTES = "\"'＂＇"
# Sentence ends: Latin punctuation followed by space (group "end"), CJK punctuation (groups
# "cjk" and "close"), or newlines; each keeps the closing quotes and brackets that follow it,
# and the spaces after it are dropped (:func:`_pieces`).
_CLOSER = f"[{re.escape(_CLOSERS)}]"
_SENTENCE_RE = re.compile(rf"(?P<end>[.!?;]+{_CLOSER}*)\s+|(?P<cjk>[。！？；]+)(?P<close>{_CLOSER}*)\s*|\n+")
# Abbreviations whose full stop does not end a sentence ("Cap. 599", "e.g. a", "No. 3").
_ABBREVIATIONS = frozenset(
    ["cap", "caps", "no", "nos", "e.g", "i.e", "vs", "dr", "mr", "mrs", "ms", "prof", "st", "fig", "figs", "p", "pp", "para", "paras", "art", "arts", "sect", "sec", "ch", "vol", "approx", "dept", "govt", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mt", "rev", "gen", "hon", "sr", "jr", "op", "cf", "al", "viz", "ref", "est", "min", "max"]
)
_LAST_WORD = re.compile(r"(\S+)\.$")
# A list item's marker at the start of a line: "- ", "• ", "* ", "1. ", "(a) " (not "-5 °C").
_LIST_MARKER = re.compile(r"^(?:[-•*‧·・]\s+|\d{1,2}[.)]\s+|\([a-z0-9]\)\s+)")
# Sentences that deny a capability: never evidence for it. Typographic apostrophes are read
# as "'" first (:data:`_APOSTROPHES`). "Not only / just / merely ..." and "not limited to"
# add rather than deny, so they are not negations here.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\uff07": "'"})
_NOT_ONLY = r"(?!\s+(?:only|just|merely|simply|limited\s+to)\b)"
# "No diagnosis is offered.", "..., but no dental care is included": "no" and up to four
# words at the start of a sentence or clause, then a passive "is offered" and its kin. A
# space must follow "no", so "No. 3" and "No-show ..." are not read as denials.
_NO_NOUN_OFFERED = (
    r"(?:^|[,;:(]|\b(?:but|and|so|while|whereas|though|although)\b)\W*"
    r"\bno\s+[a-z][\w'-]*(?:\s+[a-z][\w'-]*){0,3}?"
    r"\s+(?:is|are|was|were|will\s+be|can\s+be|has\s+been|have\s+been)"
    r"(?:\s+(?:currently|presently|yet|now|ever|actually))?"
    r"\s+(?:offered|provided|given|included|supported|available|covered|performed|delivered|supplied)\b"
)
_DENIAL_EN = re.compile(
    rf"\b(?:do|does|did|is|are|was|were|can|could|will|would|should|has|have|had)\s*n[o']t\b{_NOT_ONLY}"
    rf"|\b(?:cannot|can't|won't|isn't|aren't|doesn't|don't|didn't|hasn't|haven't)\b{_NOT_ONLY}"
    rf"|\bnot\b{_NOT_ONLY}|\bno longer\b|\bneither\b|\bnor\b|\bnever\b"
    r"|\bno\s+(?:plans?|support|services?|capability|intention)\b"
    rf"|{_NO_NOUN_OFFERED}",
    re.IGNORECASE,
)
# Chinese negations, Traditional and Simplified. Not bare 不 / 未 (不斷 "continuously", 不同,
# 不少, 不僅, 不足, 未來 ...); 並不 / 并不 but not 並不斷 ("and continuously"), 並不僅 / 並不只 /
# 並不止 ("not only") or 合並不同 ("merge different"); 未有 but not 前所未有 ("unprecedented").
_DENIAL_ZH = re.compile(
    r"不提供|並非|并非|不是|沒有|没有|不會|不会|不包括|不設|不涉及|無法|未能|不能|非本|不再|不負責|不適用"
    r"|(?<!前所)未有|未提供|未設|未设|不做|不涵蓋|不涵盖|不含|不包含|不處理|不处理|不支援|不支持"
    r"|[並并]不(?![斷断僅仅只止同])"
)


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
        Non-trivial sentences (at least 4 characters), stripped, without a list item's
        leading marker ("- ", "• ", "* ", "1. ").
    """
    out: list[str] = []
    for part in _sentences(text):
        part = _LIST_MARKER.sub("", part.strip())
        if len(part) >= 4:
            out.append(part[:max_chars])
            if len(out) >= max_sentences:
                break
    return out


def _ends_sentence(piece: str, following: str) -> bool:
    """Whether the full stop ending ``piece`` ends a sentence, given what follows it.

    A full stop that a quote or bracket closes right after ("it works.", "(see the annex.)")
    is not an abbreviation's: only a lower-case continuation keeps the sentence going.
    """
    core = piece.rstrip(_CLOSERS)
    if not core.endswith("."):
        return True
    if core != piece:
        return not following[:1].islower()
    match = _LAST_WORD.search(piece)
    word = match.group(1).lower().lstrip("(\"'[") if match else ""
    if word in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):
        return False  # "Cap.", "e.g.", "i.e.", "U.S."
    # A single capital initial ("J. Smith") and a lower-case continuation.
    if re.fullmatch(r"[A-Z]", match.group(1) if match else ""):
        return False
    return not following[:1].islower()


def _closing(opened: str, close: str) -> str:
    """The part of ``close`` (the quotes and brackets right after a CJK full stop) that
    closes the sentence ``opened``: all of it, except that a straight quote, and what
    follows it, opens the next sentence unless ``opened`` has an odd number of them."""
    for i, ch in enumerate(close):
        if ch in _STRAIGHT_QUOTES and (opened + close[:i]).count(ch) % 2 == 0:
            return close[:i]
    return close


def _pieces(text: str) -> list[str]:
    """Cut ``text`` at every sentence end (:data:`_SENTENCE_RE`), keeping the end's
    punctuation and closing quotes or brackets, dropping the spaces and newlines after it."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_RE.finditer(text):
        if match.group("end") is not None:
            cut, resume = match.end("end"), match.end()
        elif match.group("cjk") is not None:
            cut = match.end("cjk")
            cut += len(_closing(text[start:cut], match.group("close")))
            resume = cut
            while resume < len(text) and text[resume].isspace():
                resume += 1
        else:
            cut, resume = match.start(), match.end()
        pieces.append(text[start:cut])
        start = resume
    pieces.append(text[start:])
    return pieces


def _sentences(text: str) -> list[str]:
    """Split at sentence ends, joining pieces that an abbreviation's full stop cut."""
    pieces = _pieces(text)
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
        True when it contains an English or Chinese negation ("don't" and "don’t" alike;
        "No diagnosis is offered"; 未有, 不做, 不涵蓋, 並不 ...), but not "not only" or
        "No. 3".
    """
    sentence = sentence.translate(_APOSTROPHES)
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
