"""The layer map of CONTRIBUTING.md, checked by reading the source (no imports run).

Computation (estimators, backends, tasks, probes, ib) sits below the analyses of
representations (analysis/) and of weights (weights/); plotting sits on top of those;
experiments and the command line at the very top. Module-level imports must point down.
``analysis/report.py`` is the one analysis module that draws figures, and it imports the
plotting code inside its functions (lazily), so it is exempt from the matplotlib rule only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mi_probe"

COMPUTATION = ("estimators", "backends", "tasks", "probes", "ib")
ANALYSES = ("analysis", "weights")
TOP = ("mi_probe.plotting", "mi_probe.cli", "mi_probe.experiments")
DRAWING = ("matplotlib", "seaborn")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(absolute module imported, line, at import time) for every import in ``path``.

    Imports inside a function or under ``if TYPE_CHECKING:`` do not run at import time.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nested: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            nested.update(id(inner) for inner in ast.walk(node) if inner is not node)
        # ``if TYPE_CHECKING:`` imports never run
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            nested.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        top = id(node) not in nested
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # ``from . import plotting`` imports a submodule: name each one
            found += [(f"{mod}.{alias.name}", node.lineno, top) for alias in node.names]
            found.append((mod, node.lineno, top))
    return found


def _files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (PACKAGE / folder).rglob("*.py"))


def _hits(module: str, banned: tuple[str, ...]) -> bool:
    return any(module == b or module.startswith(b + ".") for b in banned)


def _rel(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def test_the_scan_sees_the_package() -> None:
    # the checks below pass vacuously if the folders move: make sure they still exist
    assert len(_files(*COMPUTATION, *ANALYSES)) > 30
    assert len(_files("cli")) >= 5
    imports = {m for m, _, _ in _imports(PACKAGE / "analysis" / "report.py")}
    assert any(m.startswith("mi_probe.plotting") for m in imports)


@pytest.mark.parametrize("path", _files(*COMPUTATION, *ANALYSES), ids=_rel)
def test_computation_and_analyses_do_not_import_the_top(path: Path) -> None:
    report = path == PACKAGE / "analysis" / "report.py"
    bad = [
        f"line {line}: {mod}"
        for mod, line, top in _imports(path)
        if top and (_hits(mod, TOP) or (_hits(mod, DRAWING) and not report))
    ]
    assert not bad, f"{_rel(path)} imports the layers above it at module level: {bad}"


@pytest.mark.parametrize("path", _files(*COMPUTATION), ids=_rel)
def test_computation_does_not_import_the_analyses(path: Path) -> None:
    banned = tuple(f"mi_probe.{folder}" for folder in ANALYSES)
    bad = [f"line {line}: {mod}" for mod, line, top in _imports(path) if top and _hits(mod, banned)]
    assert not bad, f"{_rel(path)} imports analysis/weights at module level: {bad}"


def test_no_module_but_plotting_and_report_imports_matplotlib_at_module_level() -> None:
    allowed = {PACKAGE / "analysis" / "report.py"}
    bad = [
        f"{_rel(path)} line {line}: {mod}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path not in allowed and "plotting" not in path.relative_to(PACKAGE).parts
        for mod, line, top in _imports(path)
        if top and _hits(mod, DRAWING)
    ]
    assert not bad


@pytest.mark.parametrize("path", _files("cli"), ids=_rel)
def test_a_subcommand_does_not_import_another(path: Path) -> None:
    # cli/__init__.py holds main() and may import every subcommand; _common.py is shared
    # helpers; each other module is one subcommand and imports none of its siblings,
    # not even inside a function
    shared = {"__init__", "__main__", "_common"}
    if path.stem in shared:
        return
    siblings = tuple(f"mi_probe.cli.{p.stem}" for p in _files("cli") if p.stem not in shared)
    own = f"mi_probe.cli.{path.stem}"
    bad = [
        f"line {line}: {mod}"
        for mod, line, _ in _imports(path)
        if _hits(mod, siblings) and not _hits(mod, (own,))
    ]
    assert not bad, f"{_rel(path)} imports another subcommand: {bad}"
