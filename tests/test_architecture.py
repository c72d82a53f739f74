"""The package layout holds: no import cycles, no upward imports, one public API list.

The graph is read statically from the source (imports inside functions included), so a
lazy import cannot hide a cycle or a layer breach.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tunelab

SRC = Path(tunelab.__file__).parent

# Lower layers never import higher ones. A package may import any package of a lower or
# equal rank except those listed as forbidden for it.
FORBIDDEN = {
    "tunelab.knobs": ("tunelab.",),
    "tunelab.errors": ("tunelab.",),
    "tunelab.data": (
        "tunelab.training",
        "tunelab.search",
        "tunelab.trials",
        "tunelab.explore",
        "tunelab.report",
        "tunelab.web",
        "tunelab.cli",
        "tunelab.evaluation",
        "tunelab.models",
        "tunelab.runs",
    ),
    "tunelab.models": (
        "tunelab.training",
        "tunelab.search",
        "tunelab.trials",
        "tunelab.explore",
        "tunelab.report",
        "tunelab.web",
        "tunelab.cli",
        "tunelab.data",
    ),
    "tunelab.runs": (
        "tunelab.training",
        "tunelab.search",
        "tunelab.trials",
        "tunelab.explore",
        "tunelab.report",
        "tunelab.web",
        "tunelab.cli",
    ),
    "tunelab.training": (
        "tunelab.search",
        "tunelab.trials",
        "tunelab.explore",
        "tunelab.report",
        "tunelab.web",
        "tunelab.cli",
        "tunelab.evaluation",
    ),
    "tunelab.diagnosis": (
        "tunelab.training",
        "tunelab.search",
        "tunelab.trials",
        "tunelab.explore",
        "tunelab.report",
        "tunelab.web",
        "tunelab.cli",
    ),
    "tunelab.search": (
        "tunelab.training",
        "tunelab.trials",
        "tunelab.explore",
        "tunelab.report",
        "tunelab.web",
        "tunelab.cli",
        "tunelab.data",
        "tunelab.models",
        "tunelab.evaluation",
    ),
    "tunelab.trials": ("tunelab.explore", "tunelab.web", "tunelab.cli"),
    "tunelab.explore": ("tunelab.trials", "tunelab.web", "tunelab.cli"),
    "tunelab.report": (
        "tunelab.trials",
        "tunelab.explore",
        "tunelab.web",
        "tunelab.cli",
    ),
    "tunelab.evaluation": (
        "tunelab.search",
        "tunelab.trials",
        "tunelab.explore",
        "tunelab.web",
        "tunelab.cli",
    ),
    "tunelab.web": ("tunelab.cli",),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every tunelab module ``path`` imports, at any depth of the file (TYPE_CHECKING too)."""
    tree = ast.parse(path.read_text())
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            for alias in node.names:  # `from tunelab.search import engine` names a module
                found.add(f"{base}.{alias.name}")
    return {name for name in found if name.startswith("tunelab")}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in SRC.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for target in imports_of(path):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        edges[name] = targets
    return edges


def runtime_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Edges without package ``__init__`` re-exports (lazy name tables, not code paths)."""
    packages = {name for name in edges if (SRC.parent / name.replace(".", "/")).is_dir()}
    return {
        name: {t for t in targets if t not in packages}
        for name, targets in edges.items()
        if name not in packages
    }


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    colour: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if colour.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if colour.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[node] = 2
        return None

    for node in sorted(edges):
        if colour.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle() -> None:
    cycle = find_cycle(runtime_edges(graph()))
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_upward_import(layer: str) -> None:
    bad = []
    for name, targets in graph().items():
        if name != layer and not name.startswith(layer + "."):
            continue
        for target in targets:
            if target.startswith(layer + ".") or target == layer:
                continue
            if any(
                target == f.rstrip(".")
                or target.startswith(f.rstrip(".") + ".")
                or (f.endswith(".") and target.startswith(f))
                for f in FORBIDDEN[layer]
            ):
                if target in ("tunelab.errors",) or (
                    layer in ("tunelab.knobs",) and target == "tunelab.errors"
                ):
                    continue
                bad.append(f"{name} imports {target}")
    assert not bad, "\n".join(sorted(bad))


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_public_api_is_pinned() -> None:
    assert sorted(tunelab.__all__) == [
        "Hyperparameters",
        "ImageDataset",
        "Run",
        "RunStore",
        "TunelabError",
        "find_lr",
        "load_dataset",
        "sweep",
        "train",
        "tune",
        "tune_images",
    ]
    for name in tunelab.__all__:
        assert getattr(tunelab, name) is not None


def test_public_api_has_one_list() -> None:
    """``__all__`` is the ``_EXPORTS`` table, and the TYPE_CHECKING imports match it."""
    assert tunelab.__all__ == sorted(tunelab._EXPORTS)
    tree = ast.parse((SRC / "__init__.py").read_text())
    typed: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom)
                for alias in statement.names:
                    typed[alias.asname or alias.name] = str(statement.module)
    assert typed == tunelab._EXPORTS
