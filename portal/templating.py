"""Template globals and filters shared by every page."""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from flask import Flask, current_app, request, url_for
from flask_babel import format_date, format_time, get_locale
from flask_babel import lazy_gettext as _l

import matcher
from models.vocabulary import DOMAIN_KEYS, DOMAINS, FUNCTIONAL_AREAS, area, domain

from . import textdiff
from .audit_labels import template_globals as audit_label_globals
from .extensions import ui_locale
from .labels import template_globals as label_globals
from .security import is_safe_local_path


def current_locale() -> str:
    """The interface language, ``en`` or ``zh_Hant_HK`` (dates are formatted as ``en_HK`` in
    English: ``portal.extensions.formatting_locale``)."""
    return ui_locale(get_locale())


def html_lang() -> str:
    """The interface language as a BCP 47 tag for ``<html lang>``."""
    return "zh-Hant-HK" if current_locale().startswith("zh") else "en"


def label_gap() -> str:
    """What goes between a label ending in a colon and its value: a space in English, nothing
    after Chinese's full-width colon (「方案：名稱」, not 「方案： 名稱」). Also between two
    sentences written apart in a template (「……排名。整體分數……」, not 「……排名。 整體分數……」)."""
    return "" if current_locale().startswith("zh") else " "


def full_stop() -> str:
    """The stop after a sentence that ends in a link or other markup: "." in English, the
    full-width "。" in Chinese."""
    return "。" if current_locale().startswith("zh") else "."


def aside(text: str) -> str:
    """``text`` in brackets after what it qualifies: " (text)" in English, the full-width
    "（text）" with no space in Chinese (「挑戰（第 1 頁，共 2 頁）」). Escape ``text`` first
    where it is markup (autoescaping applies to the result)."""
    return f"（{text}）" if current_locale().startswith("zh") else f" ({text})"


def colon() -> str:
    """A colon between a name and what follows it in running text: ": " in English, the
    full-width "：" (no space) in Chinese (「何家輝：已提交建議書」)."""
    return "：" if current_locale().startswith("zh") else ": "


def domain_label(key: str) -> str:
    return domain(key).label(current_locale())


def area_label(key: str | None) -> str:
    """A functional area's name in the interface language ("Not chosen yet" on a draft without one)."""
    if not key:
        return str(_l("Not chosen yet"))
    return area(key).label(current_locale())


def content_language(text: str | None, stored: str | None = None) -> str:
    """The language of user content for ``lang=""``: the stored one, else guessed from the script."""
    return stored or matcher.detect_language(text or "")


def format_day_time(value: Any, fmt: str = "medium") -> str:
    """A date and time for people: the date in ``fmt`` (short, medium, long, full) and the time
    to the minute, in the locale's own order ("4 Dec 2026, 14:05", "2026年12月4日 14:05")."""
    if not value:
        return ""
    pattern = get_locale().datetime_formats.get(fmt) or "{1} {0}"
    return str(pattern).format(format_time(value, "short"), format_date(value, fmt))


def match_strength(components: dict[str, float], raw: dict[str, float] | None) -> dict[str, float]:
    """A match's component strengths on a fixed scale (``matcher.bands``): the bars under
    "Why this match?" (the lexical one is the pair's BM25 through a calibrated curve, not
    its share of the best candidate's)."""
    from matcher.bands import load_calibration

    return load_calibration().strength(components or {}, raw or {})


#: A line that is an item of a list in user text: a bullet ("- ", "* ", "• ", "・") or a number
#: ("1.", "2)", "3、", "（4）"). "-", "*", "1." and "2)" need a space after them (not "-5 °C",
#: not "1.5 million").
BULLET = re.compile(r"^\s*(?:[-*]\s+|[•・●▪]\s*)(?=\S)")
NUMBERED = re.compile(r"^\s*(?:(\d{1,2})[.)]\s+|(\d{1,2})、\s*|[(（](\d{1,2})[)）]\s*)(?=\S)")

BlockKind = Literal["p", "ul", "ol"]


def text_blocks(text: str | None) -> list[tuple[BlockKind, list[str], int]]:
    """User text as it is shown, as (kind, lines, first number): blank lines separate blocks,
    and in a block each run of bulleted lines is a bulleted list ("ul"), each run of numbered
    lines a numbered one ("ol", numbered from its first line's number, so "item 3" still means
    the third), each run of other lines a paragraph ("p") whose line breaks are kept. The marks
    are dropped: the list shows its own. Officers paste desired outcomes as lists."""
    out: list[tuple[BlockKind, list[str], int]] = []
    for block in re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n")):
        runs: list[tuple[BlockKind, list[str], int]] = []
        for line in block.split("\n"):
            if not line.strip():
                continue
            kind: BlockKind = "p"
            start, shown = 1, line.strip()
            if mark := BULLET.match(line):
                kind, shown = "ul", line[mark.end():].strip()
            elif mark := NUMBERED.match(line):
                kind, shown = "ol", line[mark.end():].strip()
                start = int(next(g for g in mark.groups() if g))
            if runs and runs[-1][0] == kind:
                runs[-1][1].append(shown)
            else:
                runs.append((kind, [shown], start))
        out.extend(runs)
    return out


def url_with(**changes: Any) -> str:
    """The current URL with some query parameters replaced (None removes one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [str(value)]
    query = urlencode(args, doseq=True)
    return request.path + ("?" + query if query else "")


def language_next() -> str:
    """Where the language switch returns to: this page; on a page that answers a sent form
    (its errors, say), the page the form was on, when the browser says so (Referer, from this
    site), since the address a form is sent to may not be one a browser can open (405) or may
    be another page's (403). What was typed is carried across by the browser (init.js)."""
    if request.method in ("GET", "HEAD"):
        return request.full_path if request.query_string else request.path
    parts = urlsplit(request.referrer or "")
    if parts.scheme in ("http", "https") and _same_host(parts.netloc, parts.scheme):
        target = parts.path + ("?" + parts.query if parts.query else "")
        if is_safe_local_path(target) and _opens(parts.path):
            return target
    # No usable Referer: this address, when the view answering it also shows it (a form that
    # posts to its own page, such as /register), else the home page.
    return request.path if _opens(request.path) else url_for("main.index")


def _same_host(netloc: str, scheme: str) -> bool:
    """Whether a Referer's host is this request's, letter case and default ports aside."""
    default = {"http": ":80", "https": ":443"}

    def bare(host: str, port: str) -> str:
        host = host.lower()
        return host.removesuffix(port)

    ours = bare(request.host, default.get(request.scheme, ""))
    return bool(netloc) and bare(netloc, default[scheme]) == ours


def _opens(path: str) -> bool:
    """Whether a browser opening ``path`` gets the page of the view now answering, or another
    page it may open: a GET route, and for the address this request was sent to, the same view
    (a startup's question is sent to /challenges/<id>/questions, whose GET page is the
    department's: the Referer of a form sent again from its own answer page)."""
    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import RequestRedirect

    try:
        endpoint, _args = current_app.url_map.bind(request.host).match(path, method="GET")
    except RequestRedirect:
        return True
    except HTTPException:
        return False
    return path != request.path or endpoint == request.endpoint


def init_templating(app: Flask) -> None:
    """Register globals (among them the labels of stored codes, ``portal/labels.py``) and filters."""
    app.jinja_env.globals.update(
        DOMAINS=DOMAINS,
        DOMAIN_KEYS=DOMAIN_KEYS,
        FUNCTIONAL_AREAS=FUNCTIONAL_AREAS,
        domain_label=domain_label,
        area_label=area_label,
        current_locale=current_locale,
        content_language=content_language,
        colon=colon,
        aside=aside,
        full_stop=full_stop,
        html_lang=html_lang,
        label_gap=label_gap,
        url_with=url_with,
        language_next=language_next,
        match_strength=match_strength,
        compare_texts=textdiff.compare,
        **label_globals(),
        **audit_label_globals(),
    )
    app.jinja_env.filters["text_blocks"] = text_blocks
    app.jinja_env.filters["date"] = lambda value, fmt="medium": format_date(value, fmt) if value else ""
    # Times are shown to the minute everywhere: seconds are noise on a page.
    app.jinja_env.filters["datetime"] = format_day_time
    app.jinja_env.filters["time"] = lambda value: format_time(value, "short") if value else ""
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.policies["ext.i18n.trimmed"] = True
