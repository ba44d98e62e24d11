"""Lint: ruff finds nothing in the code and tests (the rules are in pyproject.toml)."""

from __future__ import annotations

import subprocess  # nosec B404 - runs the project's own ruff
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).with_name("ruff")


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is not installed (pip install -e '.[dev]')")
def test_ruff_finds_nothing():
    result = subprocess.run(  # nosec B603 - fixed arguments
        [str(RUFF), "check", "--output-format", "concise", "--no-cache",
         "portal", "matcher", "models", "tests", "benchmarks", "scripts", "wsgi.py"],
        cwd=ROOT, check=False, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
