"""The layout shows the architecture (docs/design.md, "The map"): a module
imports only from its own layer or below, wherever the import statement
stands (inside a function too), and no chain of imports comes back to where
it started."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "cfgbench"

# Lowest first: facts, format and helpers; access methods; planning, timing
# and reading results; comparing; what builds on comparing; the CI job and
# the lab; the CLI.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "limits", "document", "schema", "_native", "histogram", "pci_regs"),
    ("address", "mcfg", "platform", "kernelpath", "capabilities", "registers", "pci"),
    ("access",),
    ("workloads", "plan", "checks", "planner", "settings", "timing", "engine", "results", "runs"),
    ("compare",),
    ("report", "session", "history", "plot"),
    ("ci", "lab"),
    ("cli", "__main__"),
)
LAYER = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def unit(module: str) -> str:
    """cfgbench.compare.stats -> compare; cfgbench.plan -> plan."""
    return module.split(".")[1] if module.count(".") else ""


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(path: Path, module: str) -> set[str]:
    """Every cfgbench module the file imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cfgbench"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)  # `from cfgbench import access`
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("cfgbench"))
    known = modules()
    return {name for name in found if name in known and name != module}


def test_every_top_level_module_has_a_layer() -> None:
    units = {unit(m) for m in modules()} - {""}
    assert units <= set(LAYER), sorted(units - set(LAYER))


@pytest.mark.parametrize("module", sorted(m for m in modules() if m != "cfgbench"))
def test_no_import_runs_back_up_the_layers(module: str) -> None:
    mine = LAYER[unit(module)]
    upward = sorted(other for other in imports_of(modules()[module], module)
                    if unit(other) and LAYER[unit(other)] > mine)
    assert not upward, f"{module} (layer {mine}) imports {upward}"


def test_no_import_cycles() -> None:
    """Between packages and top-level modules; a package may use its own parts."""
    graph: dict[str, set[str]] = {}
    for module, path in modules().items():
        if unit(module):
            graph.setdefault(unit(module), set()).update(
                unit(o) for o in imports_of(path, module) if unit(o) and unit(o) != unit(module))
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                pytest.fail(f"import cycle: {' -> '.join([*trail, node, nxt])}")
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def _strings(path: Path) -> list[str]:
    """Every string constant in a module, and the text before the first field of each f-string."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            found.append(str(node.values[0].value))
    return found


def test_metadata_keys_are_spelled_only_in_the_schema() -> None:
    """Every other module names a `cfgbench_*` key through schema.py's names, and builds none
    from its prefix. (Other cfgbench_ strings, the lab's QEMU device ids and module name, are not keys.)"""
    keys = {s for s in _strings(PACKAGE / "schema.py") if s.startswith("cfgbench_")}
    assert len(keys) >= 40
    spelled = [(name, s) for name, path in modules().items() if name != "cfgbench.schema"
               for s in _strings(path) if s in keys or (s.startswith("cfgbench_") and s.endswith("_"))]
    assert spelled == []


def test_no_module_outside_access_spells_a_method_name() -> None:
    """Method names, order, colours come from the registry (access.METHODS): a new method is one module
    there and one registry line. ("ecam" and "type1" outside access/ name the kernel's mechanisms.)"""
    from cfgbench import access

    spelled = [(name, s) for name, path in modules().items() if unit(name) != "access"
               for s in _strings(path) if s in access.METHODS]
    assert spelled == []


def test_the_answer_is_estimated_in_one_place() -> None:
    """compare/model.py builds the one answer model; every other module renders it (issue 26)."""
    callers = sorted(module for module, path in modules().items() for node in ast.walk(ast.parse(path.read_text()))
                     if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "estimate")
    assert callers == ["cfgbench.compare.model"]
