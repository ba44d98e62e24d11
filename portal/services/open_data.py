"""Open data: record-level files of the public challenges, the completed PoCs and the programme figures.

Each dataset is defined by an explicit allow-list of fields (:data:`DATASETS`): its data
dictionary. A record is built field by field from that list and nothing else, so a new
column on a model never leaks into a file by accident. No dataset holds personal data: no
email address, no person's name, no free text written about a person (pitches, notes,
reports, decision reasons). Startups are companies; their names are public on the showcase.

:func:`generate` writes every dataset as CSV (UTF-8 with a byte-order mark, spreadsheet
formulas neutralised) and JSON, with its dictionary in both formats, and a
``manifest.json`` that lists the files with their size and record count. Each file is
written to a temporary file in the same folder and moved into place with ``os.replace``,
the manifest last, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from babel.dates import format_skeleton
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from models import Challenge, Department, Proposal, Trial
from models.vocabulary import (
    DOMAINS,
    FUNCTIONAL_AREAS,
    TRIAL_STATES,
    ChallengeStatus,
    TrialState,
    area,
)

from .. import clock
from ..database import db
from . import mail, stats, trials
from .notifications import path_for

#: Field types of the dictionaries and how a value of each is written.
#: integer: a whole number; number: a decimal number; string: text; date: ``YYYY-MM-DD``
#: (Hong Kong date); list: text values (a JSON array; in CSV joined by ``;``).
TYPES = ("integer", "number", "string", "date", "list")
LIST_SEPARATOR = ";"
MANIFEST = "manifest.json"
FORMATS = ("csv", "json")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Field:
    """One column of a dataset, as its data dictionary describes it."""

    name: str
    type: str
    nullable: bool
    meaning_en: str
    meaning_zh: str


def _f(name: str, type_: str, en: str, zh: str, *, nullable: bool = False) -> Field:
    if type_ not in TYPES:  # a typo in the tables below, caught at import
        raise ValueError(f"{name}: unknown type {type_!r}")
    return Field(name, type_, nullable, en, zh)


_AREA_CODES = ", ".join(t.key for t in FUNCTIONAL_AREAS)
_DOMAIN_CODES = ", ".join(t.key for t in DOMAINS)

CHALLENGE_FIELDS: tuple[Field, ...] = (
    _f("id", "integer", "The challenge's number on InnoMatch.", "挑戰在InnoMatch上的編號。"),
    _f("reference", "string", "The challenge's public reference (CH- and its number).", "挑戰的公開參考編號（CH-加編號）。"),
    _f("title", "string", "The challenge's title, in its own language.", "挑戰的標題（以挑戰本身的語言撰寫）。"),
    _f("language", "string", "The language the challenge is written in: en (English) or zh-Hant (Traditional Chinese).",
       "挑戰的撰寫語言：en（英文）或zh-Hant（繁體中文）。"),
    _f("department_code", "string", "The code of the department or unit that posted the challenge.",
       "發布挑戰的部門或單位代碼。"),
    _f("department_name_en", "string", "The department's or unit's name in English.", "部門或單位的英文名稱。"),
    _f("department_name_zh", "string", "The department's or unit's name in Traditional Chinese.", "部門或單位的中文名稱。"),
    _f("domains", "list", f"The memorandum of understanding's domains of the challenge, as codes: {_DOMAIN_CODES}.",
       f"挑戰所屬的合作備忘錄範疇代碼：{_DOMAIN_CODES}。"),
    _f("functional_area", "string", f"The functional area of the challenge, as a code: {_AREA_CODES}.",
       f"挑戰所屬的職能範疇代碼：{_AREA_CODES}。"),
    _f("functional_area_en", "string", "The functional area's name in English.", "職能範疇的英文名稱。"),
    _f("functional_area_zh", "string", "The functional area's name in Traditional Chinese.", "職能範疇的中文名稱。"),
    _f("tags", "list", "Technology tags (lower case).", "技術標籤（小楷）。"),
    _f("opened_on", "date", "The day the challenge was opened to proposals (Hong Kong date).",
       "挑戰開始接受建議書的日期（香港日期）。", nullable=True),
    _f("closing_on", "date", "The last day for proposals (Hong Kong date), if one is set.",
       "提交建議書的截止日期（香港日期），如有。", nullable=True),
    _f("status", "string", "open: taking proposals; closed: no longer taking proposals.",
       "open：接受建議書中；closed：已停止接受建議書。"),
    _f("proposals_received", "integer", "The number of proposals startups have submitted to the challenge.",
       "初創企業就挑戰提交的建議書數目。"),
    _f("url", "string", "The challenge's page on InnoMatch.", "挑戰在InnoMatch上的網頁。"),
)

POC_FIELDS: tuple[Field, ...] = (
    _f("id", "integer", "The trial's number on InnoMatch.", "試驗在InnoMatch上的編號。"),
    _f("challenge_id", "integer", "The number of the challenge the trial answered (see the challenges dataset).",
       "試驗所回應的挑戰編號（見挑戰數據集）。"),
    _f("challenge_reference", "string", "The challenge's public reference.", "挑戰的公開參考編號。"),
    _f("challenge_title", "string", "The challenge's title, in its own language.", "挑戰的標題（以挑戰本身的語言撰寫）。"),
    _f("department_code", "string", "The code of the department or unit that ran the trial.", "進行試驗的部門或單位代碼。"),
    _f("department_name_en", "string", "The department's or unit's name in English.", "部門或單位的英文名稱。"),
    _f("department_name_zh", "string", "The department's or unit's name in Traditional Chinese.", "部門或單位的中文名稱。"),
    _f("startup_name", "string", "The company whose solution was trialled.", "其方案接受試驗的公司。"),
    _f("capability_name", "string", "The name of the product or solution trialled.", "接受試驗的產品或方案名稱。",
       nullable=True),
    _f("outcome", "string", "adopted: the department adopted the solution; not_adopted: it did not; "
       "extended: the trial was extended.",
       "adopted：部門已採用方案；not_adopted：部門沒有採用方案；extended：試驗已延長。"),
    _f("approved_on", "date", "The day the lab approved the trial (Hong Kong date).", "創新實驗室批准試驗的日期（香港日期）。",
       nullable=True),
    _f("started_on", "date", "The day the trial started (Hong Kong date).", "試驗開始的日期（香港日期）。", nullable=True),
    _f("completed_on", "date", "The day the trial was completed (Hong Kong date).", "試驗完成的日期（香港日期）。",
       nullable=True),
    _f("kpis", "integer", "The number of key performance indicators agreed (see the PoC KPIs dataset).",
       "議定的關鍵績效指標數目（見概念驗證關鍵績效指標數據集）。"),
    _f("url", "string", "The trial's entry in the InnoMatch showcase.", "試驗在InnoMatch成果展示中的項目。"),
)

KPI_FIELDS: tuple[Field, ...] = (
    _f("poc_id", "integer", "The number of the trial (see the completed PoCs dataset).", "試驗編號（見已完成的概念驗證數據集）。"),
    _f("challenge_reference", "string", "The public reference of the trial's challenge.", "試驗所屬挑戰的公開參考編號。"),
    _f("name", "string", "What the indicator measures.", "指標量度的項目。"),
    _f("target", "string", "The target agreed when the trial was approved.", "批准試驗時議定的目標。"),
    _f("result", "string", "The measured result, if it has been published.", "量度所得的結果（如已公布）。", nullable=True),
)


def _figure_fields() -> tuple[Field, ...]:
    states: dict[str, tuple[str, str]] = {
        TrialState.PROPOSED: ("proposed", "已建議"),
        TrialState.SHORTLISTED: ("shortlisted", "已入圍"),
        TrialState.APPROVED: ("approved and not yet started", "已批准但未開始"),
        TrialState.RUNNING: ("running", "進行中"),
        TrialState.COMPLETED: ("completed", "已完成"),
        TrialState.WITHDRAWN: ("withdrawn", "已撤回"),
        TrialState.REJECTED: ("rejected", "已拒絕"),
    }
    return tuple(
        _f(f"trials_{state}", "integer", f"Trials now {states[state][0]}.", f"現時{states[state][1]}的試驗數目。")
        for state in TRIAL_STATES
    )


STATISTICS_FIELDS: tuple[Field, ...] = (
    _f("dimension", "string", "How the challenges are grouped: overall (all of them), domain, functional_area, "
       "department or month (of opening).",
       "挑戰的分組方式：overall（全部）、domain（範疇）、functional_area（職能範疇）、department（部門）或month（開始月份）。"),
    _f("key", "string", "The group: all; a domain, functional area or department code; or a month as YYYY-MM.",
       "組別：all（全部）；範疇、職能範疇或部門代碼；或以YYYY-MM表示的月份。"),
    _f("name_en", "string", "The group's name in English.", "組別的英文名稱。"),
    _f("name_zh", "string", "The group's name in Traditional Chinese.", "組別的中文名稱。"),
    _f("challenges_posted", "integer", "Challenges posted (open or closed; drafts never count). "
       "A challenge with two domains counts in both.", "已發布的挑戰數目（開放或已截止，不計草稿）。屬兩個範疇的挑戰在兩者均計算在內。"),
    _f("challenges_matched", "integer", "Posted challenges with at least one trial the lab approved.",
       "最少有一項試驗獲實驗室批准的已發布挑戰數目。"),
    _f("proposals_received", "integer", "Proposals received for the challenges.", "就挑戰收到的建議書數目。"),
    _f("trials", "integer", "Trials of the challenges that the lab approved (approved, running or completed).",
       "挑戰中獲實驗室批准的試驗數目（已批准、進行中或已完成）。"),
    *_figure_fields(),
    _f("solutions_adopted", "integer", "Completed trials whose solution was adopted.", "已完成並獲採用方案的試驗數目。"),
    _f("adoption_rate_percent", "number", "Solutions adopted as a percentage of completed trials (one decimal); "
       "empty with no completed trial.", "獲採用方案佔已完成試驗的百分比（一位小數）；沒有已完成試驗時留空。", nullable=True),
    _f("median_days_to_approved_trial", "number", "Median days from a challenge's opening to the approval of "
       "a trial (one decimal); empty with no approved trial.",
       "由挑戰開放至試驗獲批准的日數中位數（一位小數）；沒有獲批准試驗時留空。", nullable=True),
)


@dataclass(frozen=True)
class Dataset:
    """One open dataset: its file name stem, its dictionary and how its records are built."""

    name: str
    fields: tuple[Field, ...]
    build: Callable[[], list[dict[str, Any]]]


# -- the records -------------------------------------------------------------------------------


def reference(challenge_id: int) -> str:
    """A challenge's public reference."""
    return f"CH-{challenge_id:05d}"


def _day(instant: datetime | None) -> str | None:
    return clock.local(instant).date().isoformat() if instant is not None else None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _challenge_records() -> list[dict[str, Any]]:
    challenges = db.scalars(
        select(Challenge)
        .where(Challenge.status.in_(ChallengeStatus.PUBLIC))
        .options(selectinload(Challenge.department), selectinload(Challenge.domain_rows),
                 selectinload(Challenge.tag_rows))
        .order_by(Challenge.id)
    ).all()
    received: dict[int, int] = {
        cid: n for cid, n in db.execute(select(Proposal.challenge_id, func.count()).group_by(Proposal.challenge_id))
    }
    records = []
    for c in challenges:
        term = area(c.functional_area) if c.functional_area else None  # published: always set
        records.append({
            "id": c.id,
            "reference": reference(c.id),
            "title": c.title,
            "language": c.language,
            "department_code": c.department.code,
            "department_name_en": c.department.name_en,
            "department_name_zh": c.department.name_zh,
            "domains": c.domains,
            "functional_area": c.functional_area,
            "functional_area_en": term.en if term else "",
            "functional_area_zh": term.zh if term else "",
            "tags": c.tags,
            "opened_on": _day(c.opened_at),
            "closing_on": _iso(c.closing_on),
            "status": c.status,
            "proposals_received": received.get(c.id, 0),
            "url": mail.absolute(path_for("challenges.detail", challenge_id=c.id)),
        })
    return records


def _published_trials() -> list[Trial]:
    """Completed trials with a signed-off outcome, of posted challenges, oldest completion first."""
    return list(db.scalars(
        select(Trial)
        .join(Trial.challenge)
        .where(Trial.status == TrialState.COMPLETED, Trial.outcome.is_not(None),
               Challenge.status.in_(ChallengeStatus.PUBLIC), stats.outcome_published())
        .options(selectinload(Trial.challenge).selectinload(Challenge.department), selectinload(Trial.startup),
                 selectinload(Trial.capability), selectinload(Trial.kpis), selectinload(Trial.report))
        .order_by(Trial.completed_at, Trial.id)
    ))


def _poc_records() -> list[dict[str, Any]]:
    return [
        {
            "id": t.id,
            "challenge_id": t.challenge_id,
            "challenge_reference": reference(t.challenge_id),
            "challenge_title": t.challenge.title,
            "department_code": t.challenge.department.code,
            "department_name_en": t.challenge.department.name_en,
            "department_name_zh": t.challenge.department.name_zh,
            "startup_name": t.startup.name,
            "capability_name": trials.capability_name(t),
            "outcome": t.outcome,
            "approved_on": _day(t.approved_at),
            "started_on": _day(t.started_at),
            "completed_on": _day(t.completed_at),
            "kpis": len(t.kpis),
            "url": mail.absolute(path_for("stats.showcase")) + f"#trial-{t.id}",
        }
        for t in _published_trials()
    ]


def _kpi_records() -> list[dict[str, Any]]:
    return [
        {
            "poc_id": t.id,
            "challenge_reference": reference(t.challenge_id),
            "name": kpi.name,
            "target": kpi.target,
            "result": kpi.result or None,
        }
        for t in _published_trials()
        for kpi in t.kpis
    ]


def _month_names(key: str) -> tuple[str, str]:
    year, month = (int(part) for part in key.split("-"))
    first = date(year, month, 1)
    return format_skeleton("yMMM", first, locale="en"), format_skeleton("yMMM", first, locale="zh_Hant_HK")


def _figures_record(dimension: str, key: str, names: tuple[str, str], figures: stats.Figures) -> dict[str, Any]:
    return {
        "dimension": dimension,
        "key": key,
        "name_en": names[0],
        "name_zh": names[1],
        "challenges_posted": figures.challenges,
        "challenges_matched": figures.matched,
        "proposals_received": figures.proposals,
        "trials": figures.trials,
        **{f"trials_{state}": figures.by_state.get(state, 0) for state in TRIAL_STATES},
        "solutions_adopted": figures.adopted,
        "adoption_rate_percent": None if figures.adoption_rate is None else round(figures.adoption_rate * 100, 1),
        "median_days_to_approved_trial": figures.median_days,
    }


def _statistics_records() -> list[dict[str, Any]]:
    with force_locale("en"):  # the figures are the same in every language; the names come from below
        rep = stats.report()
    departments = {d.code: d for d in db.scalars(select(Department))}
    names: dict[str, Callable[[str], tuple[str, str]]] = {
        "domain": lambda key: next((t.en, t.zh) for t in DOMAINS if t.key == key),
        "area": lambda key: (area(key).en, area(key).zh),
        "department": lambda key: (departments[key].name_en, departments[key].name_zh),
        "month": _month_names,
    }
    dimensions = {"domain": "domain", "area": "functional_area", "department": "department", "month": "month"}
    records = [_figures_record("overall", "all", ("All posted challenges", "所有已發布的挑戰"), rep.overall)]
    for key in stats.BREAKDOWNS:
        records += [
            _figures_record(dimensions[key], row.key, names[key](row.key), row.figures)
            for row in rep.breakdowns[key].rows
        ]
    return records


DATASETS: tuple[Dataset, ...] = (
    Dataset("challenges", CHALLENGE_FIELDS, _challenge_records),
    Dataset("poc-outcomes", POC_FIELDS, _poc_records),
    Dataset("poc-kpis", KPI_FIELDS, _kpi_records),
    Dataset("statistics", STATISTICS_FIELDS, _statistics_records),
)
DATASET_NAMES = tuple(d.name for d in DATASETS)


def records(dataset: Dataset) -> list[dict[str, Any]]:
    """The dataset's records, each with exactly the dictionary's fields, in its order."""
    names = [f.name for f in dataset.fields]
    out = []
    for record in dataset.build():
        if list(record) != names:  # a builder out of step with its allow-list: fail, never publish
            raise ValueError(f"{dataset.name}: fields {list(record)} differ from the dictionary {names}")
        out.append(record)
    return out


# -- the files -----------------------------------------------------------------------------------


def safe_cell(value: Any) -> str:
    """A CSV cell: text a spreadsheet shows as text and never runs as a formula (as the audit CSV)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_value(field_: Field, value: Any) -> str:
    if value is None:
        return ""
    if field_.type == "list":
        return safe_cell(LIST_SEPARATOR.join(value))
    if field_.type in ("integer", "number"):
        return str(value)  # numbers are numbers, even negative ones
    return safe_cell(value)


def csv_bytes(header: Iterable[str], rows: Iterable[Iterable[str]]) -> bytes:
    """CSV in UTF-8 with a byte-order mark (so spreadsheets read Chinese correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _json_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def licence_url() -> str:
    """Where the terms of use of the open data are."""
    return str(current_app.config.get("OPEN_DATA_LICENCE_URL") or "")


def dictionary_entry(field_: Field) -> dict[str, Any]:
    """One line of a data dictionary."""
    return {"field": field_.name, "type": field_.type, "nullable": field_.nullable,
            "meaning_en": field_.meaning_en, "meaning_zh": field_.meaning_zh}


def _files(dataset: Dataset, generated_at: str) -> dict[str, tuple[bytes, int]]:
    """The dataset's four files: name -> (content, records)."""
    rows = records(dataset)
    fields = dataset.fields
    dictionary = [dictionary_entry(f) for f in fields]
    dictionary_header = list(dictionary[0])
    return {
        f"{dataset.name}.csv": (
            csv_bytes([f.name for f in fields], [[_csv_value(f, r[f.name]) for f in fields] for r in rows]), len(rows)),
        f"{dataset.name}.json": (
            _json_bytes({"dataset": dataset.name, "generated_at": generated_at, "licence": licence_url(),
                         "records": rows}), len(rows)),
        f"{dataset.name}-dictionary.csv": (
            csv_bytes(dictionary_header, [[safe_cell(v) for v in d.values()] for d in dictionary]), len(fields)),
        f"{dataset.name}-dictionary.json": (_json_bytes({"dataset": dataset.name, "fields": dictionary}), len(fields)),
    }


def directory() -> Path:
    """The folder of the generated files: ``OPEN_DATA_DIR``, else ``instance/open-data``."""
    configured = current_app.config.get("OPEN_DATA_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "open-data"


def _write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to a temporary file beside ``path``, then move it into place in one step."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # public files: a front web server may serve them
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class FileInfo:
    """One generated file, as the manifest lists it."""

    name: str
    dataset: str
    kind: str  # "data" or "dictionary"
    format: str  # "csv" or "json"
    bytes: int
    records: int


@dataclass(frozen=True)
class Manifest:
    """What the last generation wrote, and when."""

    generated_at: datetime
    files: tuple[FileInfo, ...]

    def file(self, name: str) -> FileInfo | None:
        """The file called ``name``, or None if there is none."""
        return next((f for f in self.files if f.name == name), None)

    def for_dataset(self, dataset: str) -> list[FileInfo]:
        """The files of one dataset: data then dictionary, CSV before JSON."""
        return [f for f in self.files if f.dataset == dataset]


def generate(folder: Path | None = None) -> Manifest:
    """Write every dataset, its dictionary and the manifest into ``folder`` (atomically, file by file)."""
    folder = folder or directory()
    folder.mkdir(parents=True, exist_ok=True)
    generated_at = clock.now()
    stamp = clock.local(generated_at).isoformat(timespec="seconds")
    infos = []
    for dataset in DATASETS:
        for name, (content, count) in _files(dataset, stamp).items():
            _write_atomically(folder / name, content)
            kind = "dictionary" if "-dictionary." in name else "data"
            infos.append(FileInfo(name, dataset.name, kind, name.rsplit(".", 1)[1], len(content), count))
    manifest = Manifest(generated_at, tuple(infos))
    document = {"generated_at": stamp, "files": [asdict(f) for f in infos]}
    _write_atomically(folder / MANIFEST, _json_bytes(document))  # last: it points at complete files only
    return manifest


def latest(folder: Path | None = None) -> Manifest | None:
    """The manifest of the last generation, or None if nothing (readable) was generated yet."""
    path = (folder or directory()) / MANIFEST
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        files = tuple(FileInfo(**f) for f in document["files"])
        generated_at = datetime.fromisoformat(document["generated_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    names = {f.name for f in files}
    expected = {name for d in DATASETS for name in _file_names(d.name)}
    if names != expected:  # written by another version: regenerate rather than serve a partial set
        return None
    return Manifest(generated_at, files)


def _file_names(dataset: str) -> list[str]:
    return [f"{dataset}{suffix}.{fmt}" for suffix in ("", "-dictionary") for fmt in FORMATS]


#: The files are regenerated when the page or a download finds them this old (daily, even
#: without a scheduled ``flask open-data generate``).
MAX_AGE = timedelta(days=1)


def latest_or_generate() -> Manifest:
    """The last generation's manifest; generate the files first if there are none, or if
    they are a day old."""
    found = latest()
    if found is None or clock.now() - found.generated_at >= MAX_AGE:
        return generate()
    return found

