"""Loading and validating a cases file: labelled challenge-startup pairs.

Cases file (JSON)::

    {"challenges": [{"id", "title", "description", "domains": [...], "language"}],
     "startups":   [{"id", "name", "summary", "capabilities", "language"}],
     "qrels":      [{"challenge", "startup", "grade": 1 | 2}]}

Only ids are required, plus some text for each item and at least one label.  Every
other field may be missing; ``capabilities`` may be a string, a list of strings or a
list of ``{"name", "description"}`` objects; a missing ``language`` is detected from the
text.  Malformed files raise :class:`CasesError` naming the offending entry.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..text import detect_language, language_family
from ..types import AREAS, DOMAINS, Item

__all__ = ["SPLITS", "Cases", "CasesError", "load_cases", "merge_cases"]

#: Split names: ``test`` is read only for final checks; every other split counts as tune.
SPLITS = ("test", "tune")

_LANGUAGE_ALIASES = {"en": "en", "zh": "zh-Hant"}


class CasesError(ValueError):
    """A cases file is malformed; the message names the entry and the problem."""


@dataclass
class Cases:
    """A loaded cases file.

    Attributes:
        challenges: Query items (``key`` = challenge id as a string).
        startups: Candidate items (``key`` = startup id as a string).
        qrels: ``{challenge id: {startup id: grade}}`` (grades > 0 only).
        warnings: Non-fatal problems found while loading (unknown domains, ...).
    """

    challenges: list[Item]
    startups: list[Item]
    qrels: dict[str, dict[str, int]]
    warnings: list[str] = field(default_factory=list)
    splits: dict[str, str] = field(default_factory=dict)

    def only(self, split: str) -> Cases:
        """The cases of one split: ``"test"`` = the challenges marked ``test``;
        ``"tune"`` = every other challenge (any split that is not ``test``). All
        candidates are kept.

        A file without ``split`` fields is returned whole, with a warning saying so.

        Args:
            split: ``"test"`` or ``"tune"``.

        Returns:
            The challenges of the split, their labels and every startup.

        Raises:
            CasesError: Another split name, or no labelled challenge in the split.
        """
        if split not in SPLITS:
            raise CasesError(f"unknown split {split!r}; choose {' or '.join(SPLITS)}")
        if not self.splits:
            return dataclasses.replace(
                self, warnings=[*self.warnings, f"no 'split' field: evaluated whole, not only {split!r}"]
            )
        keep = [
            c for c in self.challenges
            if (self.splits.get(c.key) == "test") == (split == "test")
        ]
        keys = {c.key for c in keep}
        qrels = {k: v for k, v in self.qrels.items() if k in keys}
        if not qrels:
            raise CasesError(f"no labelled challenge in split {split!r}")
        return dataclasses.replace(self, challenges=keep, qrels=qrels)



def _where(section: str, index: int, entry: Any) -> str:
    ident = entry.get("id") if isinstance(entry, Mapping) else None
    return f"{section}[{index}]" + (f" (id {ident!r})" if ident is not None else "")


def _text_field(entry: Mapping[str, Any], name: str, where: str) -> str:
    value = entry.get(name)
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value).strip()
    raise CasesError(f"{where}: '{name}' must be a string, got {type(value).__name__}")


def _ident(entry: Mapping[str, Any], where: str) -> str:
    value = entry.get("id")
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int)):
        raise CasesError(f"{where}: missing or invalid 'id' (a string or integer is required)")
    ident = str(value).strip()
    if not ident:
        raise CasesError(f"{where}: empty 'id'")
    return ident


def _string_list(value: Any, name: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise CasesError(f"{where}: '{name}' must be a string or a list of strings")


def _keys(
    value: Any, name: str, allowed: Sequence[str], where: str, warnings: list[str]
) -> list[str]:
    out = []
    for raw in _string_list(value, name, where):
        key = raw.strip().lower()
        if key in allowed:
            out.append(key)
        elif key:
            warnings.append(
                f"{where}: unknown {name} {raw!r} ignored (allowed: {', '.join(allowed)})"
            )
    return out


def _capabilities_text(value: Any, where: str) -> str:
    """Flatten the lenient ``capabilities`` field into text."""
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value).strip()
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise CasesError(f"{where}: 'capabilities' must be a string, a list or an object")
    parts = []
    for i, cap in enumerate(value):
        if cap is None:
            continue
        if isinstance(cap, Mapping):
            name = next((str(cap[k]).strip() for k in ("name", "title") if cap.get(k)), "")
            body = " ".join(
                str(cap[k]).strip()
                for k in ("description", "summary", "text", "deployments")
                if cap.get(k) and isinstance(cap[k], (str, int, float))
            )
            text = f"{name}: {body}" if name and body else (name or body)
        elif isinstance(cap, (str, int, float)) and not isinstance(cap, bool):
            text = str(cap).strip()
        else:
            raise CasesError(f"{where}: capabilities[{i}] must be a string or an object")
        if text:
            parts.append(text)
    return "\n".join(parts)


def _language(value: Any, text: str, where: str, warnings: list[str]) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return detect_language(text)
    if not isinstance(value, str):
        raise CasesError(f"{where}: 'language' must be a string")
    fam = language_family(value)
    if fam in _LANGUAGE_ALIASES:
        return _LANGUAGE_ALIASES[fam]
    detected = detect_language(text)
    warnings.append(f"{where}: unsupported language {value!r}, detected {detected!r} instead")
    return detected


def _readiness(value: Any, where: str, warnings: list[str]) -> int | None:
    if value is None:
        return None
    try:
        trl = int(value)
    except (TypeError, ValueError):
        warnings.append(f"{where}: readiness {value!r} ignored (not an integer)")
        return None
    if not 1 <= trl <= 9:
        warnings.append(f"{where}: readiness {value!r} ignored (must be 1..9)")
        return None
    return trl


def _section(data: Mapping[str, Any], name: str) -> list[Any]:
    if name not in data:
        raise CasesError(f"cases file has no '{name}' list")
    value = data[name]
    if not isinstance(value, list):
        raise CasesError(f"'{name}' must be a list, got {type(value).__name__}")
    return value


def _load_mapping(source: Mapping[str, Any] | str | os.PathLike[str]) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    path = Path(source)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CasesError(f"cannot read cases file {str(path)!r}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CasesError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(data, Mapping):
        raise CasesError(f"{path}: the top level must be a JSON object")
    return data


def _entries(
    data: Mapping[str, Any], section: str, noun: str
) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """The objects of ``data[section]`` as ``(where, id, entry)``, their ids unique."""
    seen: set[str] = set()
    for i, entry in enumerate(_section(data, section)):
        where = _where(section, i, entry)
        if not isinstance(entry, Mapping):
            raise CasesError(f"{where}: must be an object")
        ident = _ident(entry, where)
        if ident in seen:
            raise CasesError(f"{where}: duplicate {noun} id {ident!r}")
        seen.add(ident)
        yield where, ident, entry


def _item(
    entry: Mapping[str, Any],
    where: str,
    warnings: list[str],
    *,
    key: str,
    text: str,
    title: str,
    areas: Any,
    tags: Any,
    readiness: Any = None,
) -> Item:
    """An item of either side: the fields both read alike (domains, areas, tags, readiness,
    language) checked here, warnings in that order."""
    return Item(
        key=key,
        text=text,
        title=title,
        domains=frozenset(_keys(entry.get("domains"), "domains", DOMAINS, where, warnings)),
        areas=frozenset(_keys(areas, "areas", AREAS, where, warnings)),
        tags=frozenset(_string_list(tags, "tags", where)),
        readiness=_readiness(readiness, where, warnings),
        language=_language(entry.get("language"), text, where, warnings),
    )


def _challenges(data: Mapping[str, Any], warnings: list[str]) -> list[Item]:
    challenges: list[Item] = []
    for where, ident, entry in _entries(data, "challenges", "challenge"):
        title = _text_field(entry, "title", where)
        body = "\n".join(
            t
            for t in (
                _text_field(entry, k, where) for k in ("description", "business_need", "text")
            )
            if t
        )
        text = "\n".join(t for t in (title, body) if t)
        if not text:
            raise CasesError(f"{where}: no text (give a 'title' or a 'description')")
        areas = entry.get("areas", entry.get("functional_areas", entry.get("functional_area")))
        challenges.append(
            _item(
                entry, where, warnings, key=ident, text=text, title=title, areas=areas,
                tags=entry.get("tags"),
            )
        )
    return challenges


def _startups(data: Mapping[str, Any], warnings: list[str]) -> list[Item]:
    startups: list[Item] = []
    for where, ident, entry in _entries(data, "startups", "startup"):
        name = _text_field(entry, "name", where)
        parts = [
            name,
            _text_field(entry, "summary", where),
            _text_field(entry, "description", where),
            _capabilities_text(entry.get("capabilities"), where),
        ]
        text = "\n".join(p for p in parts if p)
        if not text:
            raise CasesError(f"{where}: no text (give a 'name', 'summary' or 'capabilities')")
        areas = entry.get("areas", entry.get("functional_areas"))
        tags = entry.get("tags", entry.get("technologies"))
        startups.append(
            _item(
                entry, where, warnings, key=ident, text=text, title=name, areas=areas, tags=tags,
                readiness=entry.get("readiness"),
            )
        )
    return startups


def _grade(entry: Mapping[str, Any], where: str) -> int:
    grade = entry.get("grade", 1)
    if isinstance(grade, bool) or not isinstance(grade, (int, float)) or grade != int(grade):
        raise CasesError(f"{where}: 'grade' must be 0, 1 or 2, got {grade!r}")
    grade = int(grade)
    if grade not in (0, 1, 2):
        raise CasesError(f"{where}: 'grade' must be 0, 1 or 2, got {grade!r}")
    return grade


def _qrels(
    data: Mapping[str, Any], challenges: list[Item], startups: list[Item]
) -> dict[str, dict[str, int]]:
    """``{challenge id: {startup id: grade}}`` of the positive labels."""
    challenge_ids = {c.key for c in challenges}
    startup_ids = {s.key for s in startups}
    qrels: dict[str, dict[str, int]] = {}
    for i, entry in enumerate(_section(data, "qrels")):
        where = f"qrels[{i}]"
        if not isinstance(entry, Mapping):
            raise CasesError(f"{where}: must be an object")
        cid, sid = entry.get("challenge"), entry.get("startup")
        if cid is None or sid is None or isinstance(cid, bool) or isinstance(sid, bool):
            raise CasesError(f"{where}: needs 'challenge' and 'startup' ids")
        cid, sid = str(cid).strip(), str(sid).strip()
        if cid not in challenge_ids:
            raise CasesError(f"{where}: unknown challenge id {cid!r}")
        if sid not in startup_ids:
            raise CasesError(f"{where}: unknown startup id {sid!r}")
        grade = _grade(entry, where)
        previous = qrels.get(cid, {}).get(sid)
        if previous is not None and previous != grade:
            raise CasesError(
                f"{where}: conflicting grades {previous} and {grade} for {cid!r}/{sid!r}"
            )
        if grade > 0:
            qrels.setdefault(cid, {})[sid] = grade
    if not qrels:
        raise CasesError("no positive label in 'qrels': nothing to evaluate")
    return qrels


def load_cases(source: Mapping[str, Any] | str | os.PathLike[str]) -> Cases:
    """Load and validate a cases file (path or already-parsed dict).

    Args:
        source: Path to a JSON file, or the parsed mapping.

    Returns:
        The cases.

    Raises:
        CasesError: Unreadable or malformed file, duplicate ids, labels naming unknown
            ids, an item without any text, or no positive label at all.
    """
    data = _load_mapping(source)
    warnings: list[str] = []
    challenges = _challenges(data, warnings)
    startups = _startups(data, warnings)
    if not challenges:
        raise CasesError("'challenges' is empty")
    if not startups:
        raise CasesError("'startups' is empty")
    qrels = _qrels(data, challenges, startups)
    splits = {
        str(entry["id"]).strip(): str(entry["split"]).strip()
        for entry in _section(data, "challenges")
        if isinstance(entry, Mapping) and entry.get("id") is not None and entry.get("split")
    }
    unlabelled = [c.key for c in challenges if c.key not in qrels]
    if unlabelled:
        warnings.append(
            f"{len(unlabelled)} challenge(s) without a positive label are not scored: "
            + ", ".join(unlabelled[:10])
            + (" ..." if len(unlabelled) > 10 else "")
        )
    return Cases(challenges, startups, qrels, warnings, splits)


def merge_cases(parts: Sequence[Cases]) -> Cases:
    """Several cases files as one (e.g. ``real_cases.json`` and ``parts/*.json``).

    Challenges and labels are added; a startup id seen before keeps its first text.

    Args:
        parts: Loaded cases files.

    Returns:
        The union.

    Raises:
        CasesError: A challenge id found in two files.
    """
    out = Cases([], [], {}, [], {})
    seen_startups: set[str] = set()
    for part in parts:
        for c in part.challenges:
            if any(c.key == o.key for o in out.challenges):
                raise CasesError(f"challenge id {c.key!r} is in two files")
            out.challenges.append(c)
        for s in part.startups:
            if s.key not in seen_startups:
                seen_startups.add(s.key)
                out.startups.append(s)
        for cid, labels in part.qrels.items():
            out.qrels.setdefault(cid, {}).update(labels)
        out.warnings.extend(part.warnings)
        out.splits.update(part.splits)
    return out
