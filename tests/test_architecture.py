"""The layers' import rules, read from the source (AST), not from what happens to be imported.

* ``models`` never imports ``portal`` (the web app builds on the models, not the reverse);
* services never import the web layer: a blueprint's ``routes``/``forms`` or ``portal.forms``;
* no service imports anything inside a function (a hidden import hides a dependency);
* no import cycle among ``portal/services`` modules (a package such as ``recommendations/``
  counts as one node);
* ``portal.signals`` imports no service (services send signals; reactions subscribe in
  ``portal.subscribers``);
* services write the audit log only by announcing the change (``signals.changed``), to which
  the audit log subscribes: no service but ``audit`` itself calls ``audit.record``;
* ``matcher`` stays a pure library: ``tests/matcher/test_purity.py``.

Each rule is also run on a small made-up tree that breaks it, so each test can fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEB_LAYER_FILES = ("routes", "forms")


@dataclass(frozen=True)
class Import:
    """One imported module, resolved to its absolute dotted name."""

    source: str  # the importing module
    target: str  # the imported module (``from x import y`` is ``x.y`` when y is a module)
    line: int
    in_function: bool
    type_checking: bool  # under ``if TYPE_CHECKING:`` (never runs)

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(dotted: str, root: Path) -> bool:
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _marked(tree: ast.AST) -> tuple[set[int], set[int]]:
    """Ids of the nodes inside functions, and of those under ``if TYPE_CHECKING:``."""
    in_function: set[int] = set()
    type_checking: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function.update(id(child) for child in ast.walk(node) if child is not node)
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.body:
                type_checking.update(id(child) for child in ast.walk(statement))
    return in_function, type_checking


def imports_of(path: Path, root: Path = ROOT) -> list[Import]:
    """Every import in ``path``, relative ones resolved against its package."""
    source = module_name(path, root)
    package = source.split(".") if path.name == "__init__.py" else source.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    in_function, type_checking = _marked(tree)
    found: list[Import] = []

    def add(target: str, node: ast.stmt) -> None:
        found.append(Import(source, target, node.lineno, id(node) in in_function, id(node) in type_checking))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + (node.module.split(".") if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                add(candidate if _is_module(candidate, root) else module, node)
    return found


def files(root: Path, package: str) -> list[Path]:
    return sorted(root.joinpath(*package.split(".")).rglob("*.py"))


# -- the rules (each returns the offending imports or cycles) ------------------------------------


def models_importing_portal(root: Path = ROOT) -> list[str]:
    return [
        str(imp) for path in files(root, "models") for imp in imports_of(path, root)
        if imp.target == "portal" or imp.target.startswith("portal.")
    ]


def services_importing_the_web_layer(root: Path = ROOT) -> list[str]:
    def web(target: str) -> bool:
        parts = target.split(".")
        return parts[0] == "portal" and (
            parts[1:] == ["forms"] or (len(parts) >= 3 and parts[2] in WEB_LAYER_FILES)
        )

    return [str(imp) for path in files(root, "portal.services") for imp in imports_of(path, root) if web(imp.target)]


def function_level_imports_in_services(root: Path = ROOT) -> list[str]:
    found = [str(imp) for path in files(root, "portal.services") for imp in imports_of(path, root) if imp.in_function]
    return list(dict.fromkeys(found))  # ``from x import a, b``: once


def _service_node(module: str) -> str | None:
    """``portal.services.x`` for any module of service x (a package is one node), else None."""
    parts = module.split(".")
    return ".".join(parts[:3]) if parts[:2] == ["portal", "services"] and len(parts) >= 3 else None


def service_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Service -> the services it imports when it runs (imports for type checking only left out)."""
    graph: dict[str, set[str]] = {}
    for path in files(root, "portal.services"):
        node = _service_node(module_name(path, root))
        if node is None:  # portal/services/__init__.py
            continue
        edges = graph.setdefault(node, set())
        for imp in imports_of(path, root):
            target = _service_node(imp.target)
            if target is not None and target != node and not imp.type_checking:
                edges.add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of more than one node (or a self-loop)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> Iterator[list[str]]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                yield path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                yield from visit(nxt)
        path.pop()
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            found.extend(visit(start))
    return found


def signals_importing_services(root: Path = ROOT) -> list[str]:
    path = root / "portal" / "signals.py"
    return [str(imp) for imp in imports_of(path, root) if imp.target.startswith("portal.services")]


def audit_writes_outside_the_subscriber(root: Path = ROOT) -> list[str]:
    """Calls of ``audit.record`` (or a ``record`` imported from it) in services other than audit."""
    found = []
    for path in files(root, "portal.services"):
        module = module_name(path, root)
        if module == "portal.services.audit":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        from_audit = {
            alias.asname or alias.name
            for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("audit")
            for alias in node.names
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            by_module = (isinstance(func, ast.Attribute) and func.attr == "record"
                         and isinstance(func.value, ast.Name) and func.value.id == "audit")
            by_name = isinstance(func, ast.Name) and func.id == "record" and "record" in from_audit
            if by_module or by_name:
                found.append(f"{module}:{node.lineno} calls audit.record")
    return found


# -- on the real code ------------------------------------------------------------------------------


def test_the_rules_see_the_code() -> None:
    assert len(files(ROOT, "models")) >= 5 and len(files(ROOT, "portal.services")) >= 10
    graph = service_graph()
    assert "portal.services.audit" in graph["portal.services.trials"]
    assert any("portal.services.recommendations" in edges for edges in graph.values())


def test_models_never_import_portal() -> None:
    assert models_importing_portal() == []


def test_services_never_import_the_web_layer() -> None:
    assert services_importing_the_web_layer() == []


def test_no_service_imports_inside_a_function() -> None:
    assert function_level_imports_in_services() == []


def test_no_import_cycle_among_services() -> None:
    assert cycles(service_graph()) == []


def test_signals_import_no_service() -> None:
    assert signals_importing_services() == []


def test_services_announce_changes_instead_of_writing_the_audit_log() -> None:
    assert audit_writes_outside_the_subscriber() == []


def test_matcher_purity_is_tested() -> None:
    assert (ROOT / "tests" / "matcher" / "test_purity.py").is_file()


# -- each rule catches a breach (a made-up tree) ---------------------------------------------------


def _tree(root: Path, sources: dict[str, str]) -> Path:
    for name in ("models", "portal", "portal/services", "portal/challenges"):
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "__init__.py").write_text("")
    for name, text in sources.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent != root and not (path.parent / "__init__.py").exists():
            (path.parent / "__init__.py").write_text("")
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    "text", ["from portal import clock\n", "import portal.database\n", "def f():\n    from portal.services import audit\n"]
)
def test_a_model_importing_portal_is_caught(tmp_path: Path, text: str) -> None:
    root = _tree(tmp_path, {"models/user.py": text, "portal/clock.py": "", "portal/database.py": ""})
    assert len(models_importing_portal(root)) == 1


@pytest.mark.parametrize(
    "text",
    [
        "from ..challenges.routes import bp\n",
        "from ..challenges import forms\n",
        "from portal.challenges.forms import ChallengeForm\n",
        "from .. import forms\n",
    ],
)
def test_a_service_importing_the_web_layer_is_caught(tmp_path: Path, text: str) -> None:
    root = _tree(tmp_path, {
        "portal/services/challenges.py": text,
        "portal/challenges/routes.py": "", "portal/challenges/forms.py": "", "portal/forms.py": "",
    })
    assert len(services_importing_the_web_layer(root)) == 1


def test_a_function_level_import_in_a_service_is_caught(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "portal/services/audit.py": "",
        "portal/services/trials.py": "from . import audit\n\ndef f():\n    from . import audit\n",
        "portal/services/feedback.py": "class C:\n    async def g(self):\n        import json\n",
    })
    found = function_level_imports_in_services(root)
    assert len(found) == 2 and any("trials:4" in f for f in found) and any("feedback:3" in f for f in found)


def test_an_import_cycle_among_services_is_caught(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "portal/services/audit.py": "",
        "portal/services/notifications.py": "from . import audit\nfrom . import trials as trial_service\n",
        "portal/services/trials.py": "from . import recommendations\n",
        # A package is one node: its own modules importing each other are no cycle.
        "portal/services/recommendations/__init__.py": "from .ranking import rank\n",
        "portal/services/recommendations/ranking.py": "from .. import notifications\nfrom . import cache\n",
        "portal/services/recommendations/cache.py": "from . import ranking\n",
    })
    graph = service_graph(root)
    assert graph["portal.services.recommendations"] == {"portal.services.notifications"}
    (cycle,) = cycles(graph)
    assert set(cycle) == {
        "portal.services.notifications", "portal.services.trials", "portal.services.recommendations"}


def test_imports_for_type_checking_only_make_no_cycle(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "portal/services/a.py": "from . import b\n",
        "portal/services/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n",
    })
    assert cycles(service_graph(root)) == []


def test_signals_importing_a_service_is_caught(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"portal/signals.py": "from .services import notifications\n",
                            "portal/services/notifications.py": ""})
    assert len(signals_importing_services(root)) == 1


@pytest.mark.parametrize("text", [
    "from . import audit\n\ndef f(x):\n    audit.record(None, 'a', x)\n",
    "from .audit import record\n\ndef f(x):\n    record(None, 'a', x)\n",
])
def test_a_service_writing_the_audit_log_itself_is_caught(tmp_path: Path, text: str) -> None:
    root = _tree(tmp_path, {"portal/services/trials.py": text, "portal/services/audit.py": "def record(*a): ...\n"})
    assert len(audit_writes_outside_the_subscriber(root)) == 1
