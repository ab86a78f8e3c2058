"""The house in layers: imports run one way, no module imports one that imports it back, no
module outgrows one idea, and what the kata tests use is the package's public face."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import fastapi_async_katas

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "plugin"
PACKAGE = "fastapi_async_katas"
MOST_LINES = 300
# Lower layers first; a module may import from its own layer and the layers before it.
LAYERS = ["engine", "world", "course", "commands", "pytest_plugin"]
# The two faces stand side by side: neither imports the other.
SIDE_BY_SIDE = {"commands", "pytest_plugin"}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PLUGIN.rglob("*.py")):
        parts = list(path.relative_to(PLUGIN).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join([PACKAGE, *parts])] = path
    return found


def imports_of(path: Path, name: str) -> set[str]:
    """Every module of the package that `path` imports, at any depth of its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    known = modules()
    return {m for m in found if m in known and m != name}


def layer_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_imports_run_down_the_layers_only():
    upward = []
    for name, path in modules().items():
        mine = layer_of(name)
        if mine is None:
            continue
        for target in imports_of(path, name):
            theirs = layer_of(target)
            if theirs is None or theirs == mine:
                continue
            if LAYERS.index(theirs) > LAYERS.index(mine) or {mine, theirs} == SIDE_BY_SIDE:
                upward.append(f"{name} imports {target}")
    assert upward == []


def test_no_module_imports_one_that_imports_it_back():
    graph = {name: imports_of(path, name) for name, path in modules().items()}
    cycles = []

    def visit(name: str, trail: list[str]) -> None:
        for target in graph[name]:
            if target in trail:
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in done:
                visit(target, [*trail, target])
        done.add(name)

    done: set[str] = set()
    for name in graph:
        if name not in done:
            visit(name, [name])
    assert cycles == []


def test_no_module_is_over_three_hundred_lines():
    long = {str(p.relative_to(ROOT)): n for p in PLUGIN.rglob("*.py") if (n := len(p.read_text().splitlines())) > MOST_LINES}
    assert long == {}


def test_the_installed_package_list_names_every_package_folder():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join([PACKAGE, *p.parent.relative_to(PLUGIN).parts]) for p in PLUGIN.rglob("__init__.py")}
    assert listed == folders


def test_the_public_names_are_exactly_the_ones_exported():
    assert sorted(fastapi_async_katas.__all__) == sorted(fastapi_async_katas._PUBLIC)
    for name in fastapi_async_katas.__all__:
        assert getattr(fastapi_async_katas, name) is not None


def test_kata_tests_import_only_the_public_face_of_the_package():
    private = []
    for test in sorted((ROOT / "katas").glob("*/test_kata.py")):
        for match in re.finditer(rf"^\s*(?:from|import)\s+({PACKAGE}\S*)", test.read_text(), re.M):
            if match[1] != PACKAGE:
                private.append(f"{test.relative_to(ROOT)}: {match[0].strip()}")
    assert private == []
