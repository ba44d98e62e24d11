"""Read an HTML form as a browser would submit it, for the load test's editing users.

``read_form(html, action)`` returns the fields of the POST ``<form>`` whose action ends with
``action``, or of the first one without an action (it posts to the page it is on): text inputs and hidden fields (the CSRF token among them) with their values,
textareas with their text, checked checkboxes and radios, each select's selected option
(or its first), plus every option a checkbox group or select offers, so an edit can
change a value to another one the form accepts. Submit buttons are not included: the
caller says which button it presses, as a person would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

#: A row of "Our challenges": the challenge's id and its status tag's colour (green open,
#: grey closed, yellow draft).
CHALLENGE_ROW = re.compile(r'href="/challenges/(\d+)"[^<]*</a>.*?govuk-tag--(green|grey|yellow)', re.DOTALL)
#: A capability's edit link on a startup's own profile.
CAPABILITY_EDIT = re.compile(r'href="/capabilities/(\d+)/edit"')


@dataclass
class Form:
    """A form's current values (name -> list of values) and the choices it offers."""

    action: str
    values: dict[str, list[str]] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)
    buttons: dict[str, list[str]] = field(default_factory=dict)

    def first(self, name: str) -> str:
        return (self.values.get(name) or [""])[0]

    def set(self, name: str, *values: str) -> None:
        self.values[name] = list(values)

    def choose(self, name: str, wanted: list[str]) -> None:
        """Tick the offered choices of ``name`` that are in ``wanted`` (others untouched if none is)."""
        offered = [v for v in wanted if v in self.options.get(name, [])]
        if offered:
            self.values[name] = offered

    def data(self, **buttons: str) -> list[tuple[str, str]]:
        """The body to POST: every value, then the pressed button(s)."""
        pairs = [(name, value) for name, values in self.values.items() for value in values]
        return pairs + list(buttons.items())


class _Parser(HTMLParser):
    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.want = action
        self.form: Form | None = None
        self.done = False
        self._inside = False
        self._textarea: str | None = None
        self.textareas: set[str] = set()
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if self.done:
            return
        if tag == "form" and not self._inside:
            target = a.get("action", "").split("?")[0]
            # A form without an action posts to the page it is on: the page the caller read.
            if a.get("method", "").lower() == "post" and (target == "" or (self.want and target.endswith(self.want))):
                self._inside = True
                self.form = Form(action=a.get("action", ""))
            return
        if not self._inside or self.form is None:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                self.form.options.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a:
                    self.form.values.setdefault(name, []).append(a.get("value", "on"))
            elif kind in ("submit", "button", "image", "reset"):
                self.form.buttons.setdefault(name, []).append(a.get("value", ""))
            elif kind != "file":
                self.form.values.setdefault(name, []).append(a.get("value", ""))
        elif tag == "button" and name:
            self.form.buttons.setdefault(name, []).append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.textareas.add(name)
            self.form.values[name] = [""]
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select:
            value = a.get("value", "")
            self.form.options.setdefault(self._select, []).append(value)
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self.form.values[self._select] = [value]
                self._select_chosen = True

    def handle_endtag(self, tag: str) -> None:
        if not self._inside or self.form is None:
            return
        if tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select:
            if not self._select_chosen and self._select_first is not None:
                self.form.values[self._select] = [self._select_first]
            self._select = None
        elif tag == "form":
            self._inside = False
            self.done = True

    def handle_data(self, data: str) -> None:
        if self._textarea and self.form is not None:
            self.form.values[self._textarea][0] += data


def read_form(html: str, action: str = "") -> Form | None:
    """The POST form whose action ends with ``action`` (or the first without one), or None."""
    parser = _Parser(action)
    parser.feed(html)
    form = parser.form
    if form is not None:
        # A textarea's first newline is not part of its value (HTML's rule).
        for name in parser.textareas:
            values = form.values[name]
            if values and values[0].startswith("\n"):
                form.values[name] = [values[0][1:]]
    return form
