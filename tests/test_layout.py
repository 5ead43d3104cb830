"""The layout holds: imports point one way between the package's sides, no module imports itself back round a
circle, and the root holds only entry points. Read from the source (``TYPE_CHECKING`` and function-level
imports count), so a wrong arrow fails here before it is ever executed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = "commercetools_customers_mcp"
SRC = Path(__file__).resolve().parent.parent / "src" / PKG

# What each part of the package may import from the others (besides itself). The data flow, left to right:
# serving (callers: transports, workers, caller auth, audit, metrics) → core (MCP: catalogue, selection,
# policy, results) → upstream (commercetools: client, tokens, connections). `config`, `spec` and `querylang`
# are neutral ground; the emulator is a world of its own; only the root's entry points wire everything.
ALLOWED: dict[str, set[str]] = {
    "config": set(),
    "spec": set(),
    "querylang": set(),
    "emulator": {"spec", "querylang"},
    "upstream": {"config"},
    "core": {"upstream", "config", "spec", "querylang"},
    "serving": {"core", "upstream", "config"},
    # the emulator for other people's tests (pytest plugin, emulate()): it serves the emulator and may use upstream
    "testing": {"emulator", "upstream", "config", "spec", "querylang"},
}
ROOT_MODULES = {"__init__", "__main__", "cli"}  # entry points only (and the version)


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The package's modules that ``name`` imports (absolute names below the package)."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if name != "__init__" else []
    base = here if is_package else here[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[: len(base) - (node.level - 1)]
                module = ".".join([*parent, *(node.module.split(".") if node.module else [])])
            elif node.module and (node.module == PKG or node.module.startswith(PKG + ".")):
                module = node.module[len(PKG) + 1 :]
            else:
                continue
            targets = [f"{module}.{alias.name}" if module else alias.name for alias in node.names]
            targets = [t if t in MODULES else module for t in targets]
        else:
            continue
        for target in targets:
            if target.startswith(PKG):
                target = target[len(PKG) + 1 :]
            if target in MODULES and target != name:
                found.add(target)
            elif target == "":
                found.add("__init__")
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _part(module: str) -> str:
    return module.split(".")[0] if "." in module or module in ALLOWED else "root"


def test_the_root_holds_only_entry_points() -> None:
    plain = {path.stem for path in SRC.glob("*.py")}
    assert plain == ROOT_MODULES, f"plain modules at the package root: {sorted(plain)}"
    assert {_part(m) for m in MODULES} == {"root", *ALLOWED}, "a package the layout does not name"


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_imports_point_one_way(part: str) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _part(module) == part
        for target in targets
        if _part(target) not in {part, *ALLOWED[part]} and target != "__init__"
    )
    assert not wrong, f"{part} may import only {sorted(ALLOWED[part]) or 'nothing'} of the package: {wrong}"


def test_no_module_imports_itself_round_a_circle() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in GRAPH[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            visit(module)
    assert not circles, f"import circles: {circles}"


def test_the_checks_see_the_imports() -> None:
    """The reader finds relative, absolute and ``from . import module`` imports (else the tests above pass
    vacuously)."""
    assert "core.calls" in GRAPH["serving.api_keys"]
    assert "upstream.client" in GRAPH["core.server"]
    assert "core.catalog.tools" in GRAPH["core.server"]
    assert "emulator.errors" in GRAPH["emulator.backend"]  # `from . import errors, ...`
    assert "core.server" in GRAPH["cli"]
