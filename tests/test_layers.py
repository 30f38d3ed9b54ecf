"""The layers of docs/architecture.md, enforced: who may import whom, no cycles, small modules.

Every import counts: the lazy ones inside functions (a cycle through a function-level import
is still a cycle, only a slower one to notice) and those under `if TYPE_CHECKING:` (a cycle of
types is still two modules that cannot be understood apart).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

# A module's layer is decided by the longest matching prefix of its dotted name.
LAYERS = {
    "search": "base",  # errors, exits, registry, yaml_dataclasses, env, faults
    "search.trainer": "trainer",
    "search.store": "store",
    "search.study": "study",
    "objectives": "objectives",
    "search.results": "results",
    "search.api": "api",
    "search.commands": "cli",
    "search.cli": "cli",
    "search.__main__": "cli",
}
MAY_IMPORT = {
    "base": {"base"},
    "trainer": {"base", "trainer"},
    "store": {"base", "store"},
    "study": {"base", "trainer", "store", "study"},
    "objectives": {"base", "trainer", "store", "study", "objectives"},
    "results": {"base", "trainer", "store", "results"},
    "api": {"base", "trainer", "store", "study", "objectives", "results", "api"},
    "cli": {"base", "trainer", "store", "study", "objectives", "results", "api", "cli"},
}
PACKAGE_INIT = {"search": "api"}
"""`search/__init__.py` re-exports the public API, so it is of the api layer."""
FORBIDDEN_PACKAGES = {"trainer": {"optuna"}}  # the trainer knows nothing of search
MAX_LINES = 250


def layer_of(module: str) -> str | None:
    if module in PACKAGE_INIT:
        return PACKAGE_INIT[module]
    matches = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    return LAYERS[max(matches, key=len)] if matches else None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[tuple[str, ...]]:
    """Every import in `path`, anywhere in it: (module,) for `import module`, and
    (package, package.name, ...) for `from package import name, ...`, names absolute."""
    package = (
        module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    )
    found: set[tuple[str, ...]] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update((alias.name,) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add((base, *(f"{base}.{alias.name}" for alias in node.names)))
    return found


def imported_modules(imports: set[tuple[str, ...]], modules: set[str]) -> set[str]:
    """The project modules those imports name: `from search import faults` imports the module
    search.faults; `from search import run` imports the package itself."""
    found = set()
    for base, *names in imports:
        submodules = {n for n in names if n in modules}
        found |= submodules
        if not names or len(submodules) < len(names):
            found.add(base)
    return found


def project_graph() -> dict[str, set[str]]:
    files = [*REPO.glob("search/**/*.py"), *REPO.glob("objectives/**/*.py")]
    modules = {module_name(f): f for f in files}
    return {
        name: {
            m
            for m in imported_modules(imports_of(path), set(modules))
            if m in modules and m != name
        }
        for name, path in modules.items()
    }


def violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in graph.items():
        layer = layer_of(module)
        for target in targets:
            other = layer_of(target)
            if other is not None and other not in MAY_IMPORT[layer]:
                found.append(f"{module} ({layer}) imports {target} ({other})")
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import cycle once, found by depth-first search."""
    found, done = [], set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            found.append([*stack[stack.index(node) :], node])
            return
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            visit(target, [*stack, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return found


def test_every_module_has_a_layer():
    assert [m for m in project_graph() if layer_of(m) is None] == []


def test_no_module_imports_a_layer_above_its_own():
    assert violations(project_graph()) == []


def test_there_is_no_import_cycle():
    # A package's __init__ importing its own modules is how re-exports work, not a cycle.
    graph = {
        m: {t for t in targets if not m.startswith(t + ".")}
        for m, targets in project_graph().items()
    }
    assert cycles(graph) == []


@pytest.mark.parametrize("layer, packages", FORBIDDEN_PACKAGES.items())
def test_layer_does_not_import_forbidden_packages(layer, packages):
    files = [f for f in REPO.glob("search/**/*.py") if layer_of(module_name(f)) == layer]
    assert files
    for path in files:
        used = {m.split(".")[0] for imported in imports_of(path) for m in imported}
        assert not used & packages, f"{path.relative_to(REPO)} imports {used & packages}"


def test_modules_stay_small():
    files = [*REPO.glob("search/**/*.py"), *REPO.glob("objectives/**/*.py")]
    long = {
        str(f.relative_to(REPO)): n
        for f in files
        if (n := len(f.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_checks_catch_the_cycles_this_layout_replaced():
    # Before the layers: config <-> study, and config (a study module) importing objectives.
    old = {
        "search.study.config": {"search.study.create", "objectives"},
        "search.study.create": {"search.study.config"},
        "objectives": {"search.study.config"},
    }
    assert cycles(old)
    assert violations(old) == ["search.study.config (study) imports objectives (objectives)"]


def test_a_cycle_through_a_type_checking_import_is_found(tmp_path, monkeypatch):
    # Planted: a config module that imports, for its types only, a module that imports it.
    (tmp_path / "search" / "trainer").mkdir(parents=True)
    (tmp_path / "search" / "__init__.py").write_text("")
    (tmp_path / "search" / "trainer" / "__init__.py").write_text("")
    (tmp_path / "search" / "trainer" / "config.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from search.trainer.losses import LossInfo\n"
    )
    (tmp_path / "search" / "trainer" / "losses.py").write_text(
        "from search.trainer.config import TrainConfig\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert cycles(project_graph()) == [
        ["search.trainer.config", "search.trainer.losses", "search.trainer.config"]
    ]
