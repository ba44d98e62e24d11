"""Chinese pages put no space after full-width punctuation: 「方案：名稱」, not 「方案： 名稱」.

English puts a space after a colon or a full stop; a template that writes one between a label
and its value (or between two sentences) shows a stray gap in Chinese, which browsers render
between CJK characters. ``label_gap()`` writes the right one for each language. This crawls
every page every principal can open, in Chinese, and reads the text as a browser lays it out.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from .test_fuzz_forms import _get_pages
from .world import PRINCIPALS, build_world, sign_in_as

#: Elements that start a new line (their edges render no space between texts).
BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head",
    "header", "hr", "html", "legend", "li", "main", "nav", "ol", "option", "p", "section", "select", "summary",
    "table", "tbody", "td", "textarea", "tfoot", "th", "thead", "title", "tr", "ul", "svg",
})
HIDDEN = frozenset({"script", "style", "template", "textarea", "option", "title", "svg"})
#: A full-width mark followed by a space and more text on the same line.
STRAY = re.compile(r"[：。；，、！？」』）]\x20+\S")


def _boxed(tag: str, attrs: list[tuple[str, str | None]], in_group: bool) -> bool:
    """Whether an inline element is drawn as a box of its own: a button, a link styled as one, or
    a link in a button group (a flex row, where the space between items is not drawn)."""
    return tag == "button" or (tag == "a" and (in_group or "govuk-button" in (dict(attrs).get("class") or "")))


class _Lines(HTMLParser):
    """The page's visible text, one string per block or button, whitespace collapsed as a browser does."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._hidden = 0
        self._links: list[bool] = []  # for each open <a>: whether it is a box
        self._divs: list[bool] = []  # for each open <div>: whether it is a button group

    def _break(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self._current)).strip()
        if text:
            self.lines.append(text)
        self._current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "div":
            self._divs.append("govuk-button-group" in (dict(attrs).get("class") or ""))
        boxed = _boxed(tag, attrs, any(self._divs))
        if tag == "a":
            self._links.append(boxed)
        if tag in BLOCKS or boxed:
            self._break()
        if tag in HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        if tag == "div" and self._divs:
            self._divs.pop()
        boxed = tag == "button" or (tag == "a" and bool(self._links) and self._links.pop())
        if tag in BLOCKS or boxed:
            self._break()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._current.append(data)


def stray_spaces(html: str) -> list[str]:
    """The lines of ``html`` with a space after a full-width mark."""
    parser = _Lines()
    parser.feed(html)
    parser.close()
    parser._break()
    return [line for line in parser.lines if STRAY.search(line)]


def test_the_reader_finds_a_stray_space_and_passes_the_right_forms():
    assert stray_spaces("<p>方案： <a href='#'>名稱</a></p>") == ["方案： 名稱"]
    assert stray_spaces("<p>已排名。\n  整體分數</p>") == ["已排名。 整體分數"]
    assert stray_spaces("<dt>方案：</dt>\n<dd>名稱</dd><p>完。</p>\n<p>下一段</p>") == []
    assert stray_spaces("<p>Plan: name. Next</p><script>var a = '：  x';</script>") == []
    assert stray_spaces("<div class='govuk-button-group'><a href='#'>日曆（.ics）</a> <a href='#'>編輯</a></div>") == []
    assert stray_spaces("<p><a href='#'>日曆（.ics）</a> <a href='#'>編輯</a></p>") == ["日曆（.ics） 編輯"]


def test_no_chinese_page_puts_a_space_after_full_width_punctuation(app):
    world = build_world(app, tag="zh")
    found: dict[str, set[str]] = {}
    read = 0
    for principal in PRINCIPALS:
        client = sign_in_as(app.test_client(), principal, world)
        client.post("/language", data={"locale": "zh_Hant_HK", "next": "/"})
        for endpoint, page in _get_pages(app, world):
            response = client.get(page)
            if response.status_code == 200 and "text/html" in response.content_type:
                html = response.get_data(as_text=True)
                if '<html lang="zh-Hant-HK"' not in html:  # pages only in English (the API's documentation)
                    continue
                read += 1
                for line in stray_spaces(html):
                    found.setdefault(endpoint, set()).add(line[:160])
            response.close()
    assert read > 200  # every principal's pages were read, in Chinese
    assert not found, "\n".join(f"{endpoint}: {sorted(lines)}" for endpoint, lines in sorted(found.items()))


def test_brackets_after_a_word_are_full_width_and_unspaced_in_chinese(app):
    from portal.templating import aside

    with app.test_request_context("/"):
        assert aside("page 1 of 2") == " (page 1 of 2)"
    with app.test_request_context("/", headers={"Accept-Language": "zh-HK"}):
        assert aside("第 1 頁，共 2 頁") == "（第 1 頁，共 2 頁）"
