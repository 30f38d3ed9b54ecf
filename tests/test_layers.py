"""The layers of README's Layout, enforced: who may import whom, no cycles, small modules.

Every import counts, the lazy ones inside functions too: a cycle through a function-level
import is still a cycle, only a slower one to notice.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

# A module's layer is decided by the longest matching prefix of its dotted name.
LAYERS = {
    "search": "base",  # errors, registry, yaml_dataclasses, env, faults
    "search.trainer": "trainer",
    "search.store": "store",
    "search.study": "study",
    "objectives": "objectives",
    "search.results": "results",
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
    "cli": {"base", "trainer", "store", "study", "objectives", "results", "cli"},
}
FORBIDDEN_PACKAGES = {"trainer": {"optuna"}}  # the trainer knows nothing of search
MAX_LINES = 250


def layer_of(module: str) -> str | None:
    matches = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    return LAYERS[max(matches, key=len)] if matches else None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it, as absolute dotted names."""
    package = (
        module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    )
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from search.store import atomic` imports the module search.store.atomic.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _runtime_nodes(tree: ast.AST):
    """All nodes but those under `if TYPE_CHECKING:`, which never run."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def project_graph() -> dict[str, set[str]]:
    files = [*REPO.glob("search/**/*.py"), *REPO.glob("objectives/**/*.py")]
    modules = {module_name(f): f for f in files}
    return {
        name: {m for m in imports_of(path) if m in modules and m != name}
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
        used = {m.split(".")[0] for m in imports_of(path)}
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
