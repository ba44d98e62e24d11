#!/usr/bin/env python3
"""Screenshots of InnoMatch's main pages, phone and desktop, English and Chinese, for the README.

    .venv/bin/python scripts/screenshots.py                 # writes docs/screenshots/*.png
    .venv/bin/python scripts/screenshots.py --out /tmp/shots --only landing,trial

It serves the demo data from a fresh temporary database (as the browser tests do, but ranked
with the site's own encoder, multilingual-e5-small, unless --fast) and drives the system Chromium
(/usr/bin/chromium, or $E2E_CHROMIUM). Pages are captured full length up to a maximum height,
so the files stay small. tests/e2e/test_screenshots.py runs it too (into a temporary folder).
`--readme` prints the Markdown table that shows the files.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.e2e import pages, support

OUT = REPO / "docs" / "screenshots"
#: Captures stop at this height (CSS pixels): the top of a long page is what shows in a README.
MAX_HEIGHT = {"phone": 1800, "desktop": 1200}
#: File-name suffix for each interface language.
LANG_SUFFIX = {"en": "en", "zh_Hant_HK": "zh"}
ALL = (("desktop", "en"), ("desktop", "zh_Hant_HK"), ("phone", "en"), ("phone", "zh_Hant_HK"))


@dataclass(frozen=True)
class Shot:
    """One page to capture: its name in file names, who looks at it, where, in which variants."""

    name: str
    title: str  # for the README table
    role: str | None
    path: str  # formatted with pages.demo_ids()
    variants: tuple[tuple[str, str], ...] = ALL
    click: str | None = None  # a button to press first (a page shown after a form is sent)
    expand: str | None = None  # a disclosure (<details>) to open before the capture


SHOTS = (
    Shot("landing", "Landing page", None, "/"),
    Shot("challenge", "A challenge", None, "/challenges/{challenge}",
         (("desktop", "zh_Hant_HK"), ("phone", "en"))),
    Shot("recommendations", "Recommended opportunities, the first one's evidence open (startup)", "startup",
         "/recommendations", (("desktop", "zh_Hant_HK"), ("phone", "en")), expand="details.im-explain"),
    Shot("proposals", "Our proposals (startup)", "startup", "/startups/proposals",
         (("desktop", "en"), ("phone", "zh_Hant_HK"))),
    Shot("queue", "Review queue (coordinator)", "coordinator", "/coordinator/",
         (("desktop", "en"), ("phone", "zh_Hant_HK"))),
    Shot("trial", "A completed trial (coordinator)", "coordinator", "/trials/{trial_completed}",
         (("desktop", "zh_Hant_HK"), ("phone", "en"))),
    Shot("inbox", "Proposals received (officer)", "officer", "/challenges/{inbox_challenge}/proposals",
         (("desktop", "en"), ("phone", "zh_Hant_HK"))),
    Shot("compare", "Proposals side by side (officer)", "officer",
         "/challenges/{inbox_challenge}/proposals/compare?proposal={inbox_proposal_a}&proposal={inbox_proposal_b}",
         (("desktop", "zh_Hant_HK"), ("phone", "en"))),
    Shot("similar", "Similar challenges while drafting (officer)", "officer", "/challenges/{draft_challenge}/edit",
         (("desktop", "en"), ("phone", "zh_Hant_HK")), click="main form button[name=action][value=similar]"),
    Shot("criteria", "Evaluation criteria of a draft (officer)", "officer", "/challenges/{draft_challenge}/criteria",
         (("desktop", "zh_Hant_HK"), ("phone", "en"))),
    Shot("questions", "Questions from startups (officer)", "officer", "/challenges/{own_challenge}/questions",
         (("desktop", "en"), ("phone", "zh_Hant_HK"))),
    Shot("score", "Scoring a proposal on the panel (coordinator)", "coordinator", "/proposals/{inbox_proposal_a}/score",
         (("desktop", "zh_Hant_HK"), ("phone", "en"))),
    Shot("panel", "Panel scores (coordinator)", "coordinator", "/challenges/{inbox_challenge}/panel",
         (("desktop", "en"), ("phone", "zh_Hant_HK"))),
    Shot("documents", "A trial's documents (coordinator)", "coordinator", "/trials/{trial_running}/documents",
         (("desktop", "zh_Hant_HK"), ("phone", "en"))),
    Shot("mails", "Failed emails (administrator)", "admin", "/admin/mails",
         (("desktop", "en"), ("phone", "zh_Hant_HK"))),
)


def file_name(shot: Shot, viewport: str, locale: str) -> str:
    return f"{shot.name}-{viewport}-{LANG_SUFFIX[locale]}.png"


def take(browser: Any, server: support.LiveServer, out_dir: Path, states: Callable[[str], Any],
         shots: Iterable[Shot] = SHOTS) -> list[Path]:
    """Capture ``shots`` from ``server`` into ``out_dir``; return the files written."""
    pages.add_examples(server)  # a failed email, documents, questions: rows the demo data lacks
    with server.context() as db:
        ids = pages.demo_ids(db)
    out_dir.mkdir(parents=True, exist_ok=True)
    # One browser context per (role, language), each switched to its language once.
    jobs: dict[tuple[str | None, str], list[tuple[Shot, str]]] = {}
    for shot in shots:
        for viewport, locale in shot.variants:
            jobs.setdefault((shot.role, locale), []).append((shot, viewport))
    written = []
    for (role, locale), captures in jobs.items():
        context = browser.new_context(
            viewport=support.VIEWPORTS["desktop"], locale="en-GB", reduced_motion="reduce",
            storage_state=states(role) if role else None,
        )
        context.set_default_timeout(support.TIMEOUT_MS)
        try:
            page = context.new_page()
            support.goto(page, server("/"))
            support.use_language(page, locale)
            for shot, viewport in captures:
                page.set_viewport_size(support.VIEWPORTS[viewport])
                response = page.goto(server(shot.path.format(**ids)), wait_until="load")
                if shot.click and response is not None and response.status == 200:
                    with page.expect_navigation(wait_until="load") as navigation:
                        page.locator(shot.click).first.click()
                    response = navigation.value
                if response is None or response.status != 200:
                    raise RuntimeError(f"{shot.name}: HTTP {response.status if response else '?'} at {page.url}")
                if shot.expand:
                    page.locator(shot.expand).first.locator("summary").click()
                written.append(_capture(page, out_dir / file_name(shot, viewport, locale), viewport))
        finally:
            context.close()
    return written


def _capture(page: Any, path: Path, viewport: str) -> Path:
    width = support.VIEWPORTS[viewport]["width"]
    height = min(page.evaluate("() => document.documentElement.scrollHeight"), MAX_HEIGHT[viewport])
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide",
                    clip={"x": 0, "y": 0, "width": width, "height": height})
    return path


def readme_table(shots: Iterable[Shot] = SHOTS, folder: str = "docs/screenshots") -> str:
    """Markdown: one row per page; desktop and phone, English and Chinese."""
    heads = {("desktop", "en"): "Desktop, English", ("desktop", "zh_Hant_HK"): "Desktop, 中文",
             ("phone", "en"): "Phone, English", ("phone", "zh_Hant_HK"): "Phone, 中文"}
    lines = ["| page | " + " | ".join(heads[v] for v in ALL) + " |", "| --- |" + " --- |" * len(ALL)]
    for shot in shots:
        cells = []
        for viewport, locale in ALL:
            if (viewport, locale) in shot.variants:
                name = file_name(shot, viewport, locale)
                language = "English" if locale == "en" else "Traditional Chinese"
                alt = f"{shot.title}, {viewport}, {language}"
                size = 200 if viewport == "desktop" else 100
                cells.append(f'<a href="{folder}/{name}"><img src="{folder}/{name}" alt="{alt}" width="{size}"></a>')
            else:
                cells.append("")
        lines.append(f"| {shot.title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for the PNG files (default {OUT})")
    parser.add_argument("--only", default="", help="comma-separated page names: " + ", ".join(s.name for s in SHOTS))
    parser.add_argument("--readme", action="store_true", help="print the Markdown table and exit")
    parser.add_argument("--fast", action="store_true",
                        help="rank with the model-free hashing encoder (as the tests do), not the real model")
    args = parser.parse_args(argv)
    chosen = [s for s in SHOTS if not args.only or s.name in args.only.split(",")]
    if args.readme:
        print(readme_table(chosen))
        return 0
    problem = support.chromium_problem()
    if problem:
        print(f"screenshots: {problem}", file=sys.stderr)
        return 1
    support.ensure_assets()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        import matcher

        # The site's own encoder (multilingual-e5-small), so scores, bands and similar
        # challenges show as on a deployed site; --fast: the model-free one.
        model = "hashing" if args.fast else matcher.DEFAULT_ENCODER
        server = support.LiveServer(Path(tmp) / "screenshots.db", matcher_model=model).start()
        for name in ("", "werkzeug", "innomatch"):  # request logs would bury the file list
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            with sync_playwright() as playwright:
                browser = support.launch_browser(playwright)
                try:
                    files = take(browser, server, args.out, support.signed_in_states(browser, server), chosen)
                finally:
                    browser.close()
        finally:
            server.stop()
    for path in files:
        print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
