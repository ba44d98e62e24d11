"""scripts/screenshots.py captures every page and variant it promises (into a temporary folder)."""

from __future__ import annotations

import importlib.util
import struct
import sys

import pytest

from . import support

pytestmark = pytest.mark.e2e


def _load_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("innomatch_screenshots", support.REPO / "scripts" / "screenshots.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_screenshots_of_the_main_pages(browser, live_server, signed_in_state, tmp_path):
    screenshots = _load_script()
    files = screenshots.take(browser, live_server, tmp_path, signed_in_state)

    expected = {screenshots.file_name(s, vp, loc) for s in screenshots.SHOTS for vp, loc in s.variants}
    assert {f.name for f in files} == expected
    table = screenshots.readme_table()
    for path in files:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", path.name
        width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
        viewport = "phone" if "-phone-" in path.name else "desktop"
        assert width == support.VIEWPORTS[viewport]["width"], (path.name, width)
        assert support.VIEWPORTS[viewport]["height"] // 2 <= height <= screenshots.MAX_HEIGHT[viewport], (path.name, height)
        assert len(data) < 600_000, (path.name, len(data))
        assert f"docs/screenshots/{path.name}" in table
