"""The import graph of cjm: no cycles, and the CLI on top of the library.

Every ``import cjm…`` and ``from cjm… import`` counts, at module level or inside a function
(a function-level import only postpones a cycle to the first call), and ``from cjm.a import
b`` depends on both cjm.a and cjm.a.b when b is a module: it runs cjm/a/__init__.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "cjm"

def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(third_party: bool = False) -> dict[str, set[str]]:
    """Each cjm module and the cjm modules it imports (``third_party``: and the top-level
    names of the other packages it imports)."""
    sources = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in sources.items():
        named: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = name if path.name == "__init__.py" else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                module = f"{base}.{node.module}" if node.module else base
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
            elif isinstance(node, ast.Import):
                named.update(alias.name for alias in node.names)
                continue
            else:
                continue
            named.add(module)
            named.update(f"{module}.{alias.name}" for alias in node.names)
        graph[name] = {m for m in named if m in sources and m != name}
        if third_party:
            graph[name] |= {m.partition(".")[0] for m in named if not m.startswith("cjm")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while not component or w != v:
                w = stack.pop()
                component.add(w)
            if len(component) > 1:
                found.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_every_kind_of_import():
    graph = import_graph()
    assert "cjm.errors" in graph["cjm.config"]  # module level
    assert "cjm.units" in graph["cjm.gates"]
    assert "cjm.render.json_out" in graph["cjm.report.build"]  # inside a function


def test_no_import_cycle():
    assert not [sorted(c) for c in cycles(import_graph())]


def test_nothing_outside_the_cli_imports_it():
    """The library never needs the CLI; ``python -m cjm`` (cjm/__main__.py) runs it."""
    graph = import_graph()
    outside = sorted(f"{m} imports {d}" for m, deps in graph.items() for d in deps
                     if not m.startswith(("cjm.cli", "cjm.__main__")) and d.startswith("cjm.cli"))
    assert not outside


# The analyses: what cjm computes from an engine's rows. They see the engine seam
# (cjm.engine.protocol, .rows, .semantics) and nothing behind it, and print nothing.
ANALYSES = ("cjm.journeys", "cjm.mapgraph", "cjm.funnel", "cjm.compare", "cjm.channels",
            "cjm.moments", "cjm.attribution", "cjm.conformance", "cjm.segments", "cjm.privacy",
            "cjm.gates", "cjm.summary")
SEAM = ("cjm.engine", "cjm.engine.protocol", "cjm.engine.rows", "cjm.engine.semantics")


def test_the_analyses_import_no_engine():
    graph = import_graph(third_party=True)
    found = sorted(f"{m} imports {d}" for m in ANALYSES for d in graph[m]
                   if (d.startswith("cjm.engine") and d not in SEAM)
                   or d in ("duckdb", "pyspark", "rich", "pandas"))
    assert not found


def test_the_spark_engine_stands_alone():
    """Spark's package imports nothing of DuckDB's, nor DuckDB's library itself: the time
    zone, a Parquet file's column types and the timestamp format are decided without it
    (tests/test_spark_timestamps.py checks a whole run's sys.modules)."""
    graph = import_graph(third_party=True)
    spark = [m for m in graph if m.startswith("cjm.engine.spark")]
    assert "cjm.engine.spark.engine" in spark
    found = sorted(f"{m} imports {d}" for m in spark for d in graph[m]
                   if d.startswith("cjm.engine.duckdb") or d == "duckdb")
    assert not found
    duck = [m for m in graph if m.startswith("cjm.engine.duckdb")]
    assert not [f"{m} imports {d}" for m in duck for d in graph[m]
                if d.startswith("cjm.engine.spark") or d == "pyspark"]
