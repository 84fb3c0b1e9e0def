"""Architecture: no import cycles (every module imports alone, the public packages in either
order, and the graph of module-level imports between the package's own modules has no cycle), and
the training code in small functions."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Folder of the repository -> the package it is installed as (pyproject.toml's package-dir).
PACKAGES = {"flowgmm_ae": "flowgmm_ae", "baselines": "flowgmm_ae.baselines"}


def _module_paths() -> dict[str, Path]:
    """Every module of the installed packages -> its file in the repository."""
    found = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            if folder == "flowgmm_ae" and parts[:1] == ("baselines",):
                continue
            found[".".join((package, *parts))] = path
    return found


def _modules() -> list[str]:
    return list(_module_paths())


def _module_level_imports(module: str) -> set[str]:
    """The package-internal modules ``module`` imports at import time (not inside functions,
    not under ``if TYPE_CHECKING``)."""
    paths = _module_paths()
    tree = ast.parse(paths[module].read_text())
    known = set(paths)
    found: set[str] = set()

    def visit(nodes) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from package import submodule`` needs the submodule, not the package's __init__
                # (a partly initialised package serves it); ``from module import name`` needs module.
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    found.add(submodule if submodule in known else node.module)
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)
                visit(getattr(node, "orelse", []))

    visit(tree.body)
    return {name for name in found if name in known and name != module}


def test_the_module_import_graph_has_no_cycle():
    graph = {module: _module_level_imports(module) for module in _modules()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def walk(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target] if target in path else [module, target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if state.get(target) is None:
                walk(target, [*path, target])
        state[module] = 2

    for module in graph:
        if module not in state:
            walk(module, [module])


@pytest.mark.parametrize("order", ["flowgmm_ae, flowgmm_ae.baselines", "flowgmm_ae.baselines, flowgmm_ae"])
def test_the_packages_import_in_either_order(order):
    code = f"import {order}; import flowgmm_ae.cli; print(flowgmm_ae.method_names())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "aeflow" in result.stdout and "cnn" in result.stdout


def test_every_module_imports_alone():
    """Each module in a fresh interpreter of its own (one process runs them one by one, each in a
    subprocess, so a module that only works after another was imported fails here)."""
    script = (
        "import subprocess, sys\n"
        "bad = []\n"
        "for name in sys.argv[1:]:\n"
        "    r = subprocess.run([sys.executable, '-c', f'import {name}'], capture_output=True, text=True)\n"
        "    bad += [f'{name}: {r.stderr.strip().splitlines()[-1]}'] if r.returncode else []\n"
        "print('\\n'.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, *_modules()], capture_output=True, text=True, cwd=ROOT
    )
    assert result.stdout.strip() == "", result.stdout


def test_the_training_code_has_no_function_over_60_lines():
    """The loop reads top to bottom in small steps (it once was a single 211-line function)."""
    long = []
    for name in ("loop", "training", "estimators", "protocol"):
        tree = ast.parse((ROOT / "flowgmm_ae" / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 60:
                long.append(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not long, long
