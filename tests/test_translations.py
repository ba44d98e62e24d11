"""Every interface string has a Traditional Chinese translation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_catalogue_translates_every_extracted_string():
    # The same check as `scripts/i18n.sh check`: a fresh extraction from the code and
    # templates against the catalogue; missing, empty, fuzzy or broken entries fail.
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "i18n.sh"), "check"],
        cwd=ROOT, capture_output=True, text=True, check=False, env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "all translated" in result.stdout


def test_technology_labels_are_one_chinese_label_per_tag_covering_the_demo_data():
    import json
    import re

    labels: dict[str, str] = {}
    for number, line in enumerate((ROOT / "portal" / "data" / "technologies.tsv").read_text("utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        tag, label, *english = line.split("\t")  # two columns, or three with an English form
        assert tag == tag.strip().lower() and tag not in labels, (number, tag)
        assert re.search(r"[\u4e00-\u9fff]", label) or label.isascii(), (number, label)  # Chinese, or an acronym kept
        # The English form is the tag in other letter case only ("OCR" for "ocr"), and says
        # something the tag does not.
        assert len(english) <= 1 and all(e.lower() == tag and e != tag for e in english), (number, english)
        labels[tag] = label
    typed: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("tags", "technologies") and isinstance(value, list):
                    typed.update(str(v).lower() for v in value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in (ROOT / "portal" / "demo" / "data").glob("*.json"):
        walk(json.loads(path.read_text("utf-8")))
    assert typed and sorted(typed - labels.keys()) == []
