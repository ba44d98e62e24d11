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
