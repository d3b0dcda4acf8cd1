"""The package's layering: imports only point downward, and no module imports itself back.

    errors, values  <-  sources  <-  registry  <-  model  <-  analysis, deploy  <-  commands
    <-  modelgit/__init__.py (the public API)  <-  cli  <-  modelgit/__main__.py

Sources are read with ``ast`` and never imported. Every import counts, at module level or
inside a function (lazy imports still load the module, so they still make cycles).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "modelgit"

# First path component under the package -> rank. A module may import a module of equal or
# lower rank; the floor modules may import no other module of the package at all.
FLOOR = frozenset({"errors", "values"})
RANKS: dict[str, int] = {
    "errors": 0,
    "values": 0,
    "sources": 1,
    "registry": 2,
    "model": 3,
    "analysis": 4,
    "pages": 4,  # pure: model cards and the static site as Markdown, HTML and SVG
    "deploy": 4,
    "commands": 5,
    "__init__": 6,  # the package itself: the public API, re-exporting commands
    "cli": 7,  # calls the public API only
    "__main__": 8,
}
MAX_CYCLES_SHOWN = 10


@dataclass(frozen=True)
class Edge:
    """One import statement from module `source` to module `target`."""

    source: str
    target: str
    path: str
    line: int
    lazy: bool

    def describe(self, layers: dict[str, str]) -> str:
        """`a (layer) -> b (layer)  file:line`, for failure messages."""
        where = f"{self.path}:{self.line}" + ("  (inside a function)" if self.lazy else "")
        return (
            f"{self.source} ({layers.get(self.source, '?')}) -> "
            f"{self.target} ({layers.get(self.target, '?')})   {where}"
        )


@dataclass
class LayerReport:
    """What `check_layers` found; falsy when the package is clean."""

    layers: dict[str, str] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    unlayered: list[str] = field(default_factory=list)
    unresolved: list[tuple[str, str, str, int]] = field(default_factory=list)
    upward: list[Edge] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.unlayered or self.unresolved or self.upward or self.cycles)

    def format(self) -> str:
        """A readable, multi-line account of every problem."""
        out: list[str] = []
        if self.unlayered:
            out.append(
                f"{len(self.unlayered)} module(s) in no layer (move them into one of "
                f"{', '.join(sorted(set(RANKS) - {'__init__', '__main__'}))}):"
            )
            out += [f"  {name}" for name in self.unlayered]
        if self.unresolved:
            out.append(f"{len(self.unresolved)} import(s) of modules that do not exist:")
            out += [f"  {src} -> {dst}   {path}:{line}" for src, dst, path, line in self.unresolved]
        if self.upward:
            out.append(f"{len(self.upward)} upward import(s) (a lower layer importing a higher):")
            out += [f"  {edge.describe(self.layers)}" for edge in self.upward]
        if self.cycles:
            out.append(f"{len(self.cycles)} import cycle(s):")
            sites = {(e.source, e.target): e for e in self.edges}
            for cycle in self.cycles:
                out.append("  " + " -> ".join([*cycle, cycle[0]]))
                for a, b in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
                    out.append(f"      {sites[a, b].describe(self.layers)}")
        return "\n".join(out)


def module_names(package_dir: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the package directory."""
    names: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join([package, *parts])] = path
    return names


def layer_of(module: str, package: str) -> str | None:
    """The layer a module belongs to, by its first component under the package."""
    rest = module.removeprefix(package).lstrip(".")
    first = rest.split(".")[0] if rest else "__init__"
    return first if first in RANKS else None


def _function_lines(tree: ast.AST) -> set[int]:
    """Line numbers of import statements nested in a function body."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    lines.add(inner.lineno)
    return lines


def imports_of(
    module: str, path: Path, package: str, known: set[str]
) -> tuple[list[tuple[str, int, bool]], list[tuple[str, int]]]:
    """(resolved targets, unresolvable targets) of one module's package-internal imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lazy_lines = _function_lines(tree)
    is_package = path.name == "__init__.py"
    found: list[tuple[str, int, bool]] = []
    missing: list[tuple[str, int]] = []

    def add(candidates: list[str], line: int) -> None:
        for name in candidates:
            if name in known:
                found.append((name, line, line in lazy_lines))
                return
        missing.append((candidates[-1], line))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == package or alias.name.startswith(package + "."):
                    add([alias.name], node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                base_parts = here[: len(here) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base != package and not base.startswith(package + "."):
                continue
            for alias in node.names:
                add([f"{base}.{alias.name}", base], node.lineno)
    return found, missing


def check_layers(package_dir: Path, package: str) -> LayerReport:
    """Check every import of the package under `package_dir` against the layer ranks."""
    files = module_names(package_dir, package)
    known = set(files)
    report = LayerReport()
    for name in files:
        layer = layer_of(name, package)
        if layer is None:
            report.unlayered.append(name)
        else:
            report.layers[name] = layer

    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(files)
    for source, path in files.items():
        rel = str(path.relative_to(package_dir.parent))
        found, missing = imports_of(source, path, package, known)
        report.unresolved += [(source, target, rel, line) for target, line in missing]
        for target, line, lazy in found:
            if target == source:
                continue
            edge = Edge(source, target, rel, line, lazy)
            report.edges.append(edge)
            graph.add_edge(source, target)
            src_layer, dst_layer = report.layers.get(source), report.layers.get(target)
            if src_layer is None or dst_layer is None or src_layer == dst_layer:
                continue
            if src_layer in FLOOR or RANKS[dst_layer] > RANKS[src_layer]:
                report.upward.append(edge)

    # Keep the first site of each (source, target) pair for the cycle listing.
    report.upward.sort(key=lambda e: (e.path, e.line))
    report.unresolved.sort(key=lambda u: (u[2], u[3]))
    first: dict[tuple[str, str], Edge] = {}
    for edge in sorted(report.edges, key=lambda e: (e.path, e.line)):
        first.setdefault((edge.source, edge.target), edge)
    report.edges = list(first.values())

    by_component: dict[int, list[list[str]]] = defaultdict(list)
    for index, component in enumerate(nx.strongly_connected_components(graph)):
        if len(component) < 2:
            continue
        for cycle in nx.simple_cycles(graph.subgraph(component)):
            start = cycle.index(min(cycle))
            by_component[index].append(cycle[start:] + cycle[:start])
    for cycles in by_component.values():
        report.cycles += sorted(cycles, key=lambda c: (len(c), c))[:MAX_CYCLES_SHOWN]
    report.cycles.sort(key=lambda c: (len(c), c))
    return report


def test_modelgit_imports_only_downward_and_without_cycles():
    report = check_layers(PACKAGE_DIR, "modelgit")
    assert report.layers, f"no modules found under {PACKAGE_DIR}"
    if report:
        pytest.fail("modelgit breaks its layering:\n" + report.format(), pytrace=False)


def _write(root: Path, files: dict[str, str]) -> None:
    """Create each file (and its parent directories) under root."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


CLEAN_FAKE = {
    "fakepkg/__init__.py": "",
    "fakepkg/__main__.py": "from fakepkg.cli.b import main\n",
    "fakepkg/errors.py": "",
    "fakepkg/sources/__init__.py": "",
    "fakepkg/sources/a.py": "import fakepkg.errors\nfrom . import c\n",
    "fakepkg/sources/c.py": "from fakepkg.errors import Oops\n",
    "fakepkg/model/__init__.py": "thing = 1\n",
    "fakepkg/registry/__init__.py": "",
    "fakepkg/registry/x.py": "from fakepkg.sources import a\n",
    "fakepkg/registry/y.py": "from ..sources.c import helper\n",
    "fakepkg/cli/__init__.py": "",
    "fakepkg/cli/b.py": "from fakepkg.model import thing\nfrom fakepkg.registry import x, y\n",
}


def test_checker_passes_a_clean_package(tmp_path):
    _write(tmp_path, CLEAN_FAKE)
    report = check_layers(tmp_path / "fakepkg", "fakepkg")
    assert not report, report.format()
    pairs = {(e.source, e.target) for e in report.edges}
    assert ("fakepkg.cli.b", "fakepkg.model") in pairs  # an attribute: the package itself
    assert ("fakepkg.cli.b", "fakepkg.registry.y") in pairs  # a submodule
    assert ("fakepkg.registry.y", "fakepkg.sources.c") in pairs  # relative, two levels
    assert ("fakepkg.sources.a", "fakepkg.sources.c") in pairs  # relative, `from . import`


def test_checker_reports_upward_imports_cycles_and_flat_modules(tmp_path):
    _write(
        tmp_path,
        {
            **CLEAN_FAKE,
            # upward, and lazily: sources -> cli
            "fakepkg/sources/a.py": "def f():\n    from fakepkg.cli import b\n",
            # a cycle inside one layer, one half through a relative import
            "fakepkg/registry/x.py": "from fakepkg.registry import y\n",
            "fakepkg/registry/y.py": "def g():\n    from . import x\n",
            # the floor imports nothing of the package
            "fakepkg/errors.py": "from fakepkg.sources import c\n",
            # a flat module in no layer, and an import of a module that is gone
            "fakepkg/helpers.py": "import fakepkg.gone\n",
        },
    )
    report = check_layers(tmp_path / "fakepkg", "fakepkg")

    assert {(e.source, e.target) for e in report.upward} == {
        ("fakepkg.sources.a", "fakepkg.cli.b"),
        ("fakepkg.errors", "fakepkg.sources.c"),
    }
    assert report.cycles == [
        ["fakepkg.errors", "fakepkg.sources.c"],  # c imports errors, errors imports c
        ["fakepkg.registry.x", "fakepkg.registry.y"],
    ]
    assert report.unlayered == ["fakepkg.helpers"]
    assert [(src, dst) for src, dst, _, _ in report.unresolved] == [
        ("fakepkg.helpers", "fakepkg.gone")
    ]

    message = report.format()
    assert "fakepkg.sources.a (sources) -> fakepkg.cli.b (cli)" in message
    assert "fakepkg/sources/a.py:2  (inside a function)" in message
    assert "fakepkg.registry.x -> fakepkg.registry.y -> fakepkg.registry.x" in message
    assert "fakepkg.helpers" in message
