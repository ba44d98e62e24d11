"""Static analysis: bandit over portal, matcher and models finds nothing of medium or high severity."""

from __future__ import annotations

import json
import re
import subprocess  # nosec B404 - runs the project's own bandit
import sys
from pathlib import Path

import pytest

from .world import ROOT, record_figure

BANDIT = Path(sys.executable).with_name("bandit")


@pytest.mark.skipif(not BANDIT.exists(), reason="bandit is not installed (pip install -e '.[dev]')")
def test_bandit_finds_no_medium_or_high_issue(tmp_path):
    report = tmp_path / "bandit.json"
    subprocess.run(  # nosec B603 - fixed arguments
        [str(BANDIT), "-q", "-c", "pyproject.toml", "-r", "portal", "matcher", "models", "-f", "json",
         "-o", str(report)],
        cwd=ROOT, check=False, capture_output=True, timeout=300,
    )
    data = json.loads(report.read_text(encoding="utf-8"))
    assert not data.get("errors"), data["errors"]
    serious = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_severity']}: {r['issue_text']}"
        for r in data["results"] if r["issue_severity"] in ("MEDIUM", "HIGH")
    ]
    totals = data["metrics"]["_totals"]
    record_figure("bandit", {"high": totals["SEVERITY.HIGH"], "medium": totals["SEVERITY.MEDIUM"],
                             "low": totals["SEVERITY.LOW"], "nosec": totals["nosec"], "loc": totals["loc"]})
    assert not serious, "bandit findings (fix, or justify inline with '# nosec BXXX: reason'):\n  " + "\n  ".join(serious)


def test_every_nosec_names_the_check_and_gives_a_reason():
    bare = []
    for path in [*ROOT.glob("portal/**/*.py"), *ROOT.glob("matcher/**/*.py"), *ROOT.glob("models/**/*.py")]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "# nosec" in line and not re.search(r"#\s*nosec\s+B\d{3}[^\n]*?(:| - )\s*\S", line):
                bare.append(f"{path.relative_to(ROOT)}:{number}")
    assert not bare, f"'# nosec' without a check id and a reason: {bare}"
