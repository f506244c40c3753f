"""Fail on any import cycle between modules of the project's packages.

    python -m microstage.importcycles            # the packages of [tool.importlinter] root_packages
    python -m microstage.importcycles PKG [PKG]  # only these packages

The import-linter contracts check the order *between* apps; this checks *inside* them. Every import
counts, including one written inside a function to dodge a circle at import time: such a circle is
still a circle in the design. Migrations are left out (Django writes them). For each group of
modules that import each other (a strongly connected component of the import graph) it prints one
shortest circle with the file and line of every import in it, and exits 1.
"""
from __future__ import annotations

import itertools
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def root_packages(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    with pyproject.open("rb") as handle:
        return list(tomllib.load(handle)["tool"]["importlinter"]["root_packages"])


def _ignored(module: str) -> bool:
    return ".migrations" in module or module.endswith(".migrations")


def components(graph, modules: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (iterative Tarjan), each sorted."""
    edges = {m: sorted(x for x in graph.find_modules_directly_imported_by(m) if x in modules) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(modules):
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def shortest_circle(graph, component: list[str]) -> list[str]:
    """One shortest circle through the component's first module: [a, b, ..., a]."""
    members = set(component)
    start = component[0]
    previous: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph.find_modules_directly_imported_by(node)):
                if child == start:
                    path = [node]
                    while previous[path[-1]] is not None:
                        path.append(previous[path[-1]])
                    return list(reversed(path)) + [start]
                if child in members and child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return component + [component[0]]


def find(packages: list[str]):
    """(component, shortest circle) pairs, and the graph they came from."""
    graph = grimp.build_graph(*packages, cache_dir=None)
    modules = {m for m in graph.modules if not _ignored(m)}
    return [(c, shortest_circle(graph, c)) for c in components(graph, modules)], graph


def report(packages: list[str]) -> int:
    found, graph = find(packages)
    if not found:
        print(f"no import cycles in {', '.join(packages)}")
        return 0
    for component, circle in found:
        print(f"import cycle among {len(component)} modules: {', '.join(component)}")
        for importer, imported in itertools.pairwise(circle):
            details = graph.get_import_details(importer=importer, imported=imported)
            where = ", ".join(f"line {d['line_number']}" for d in details) or "?"
            print(f"  {importer} -> {imported} ({where})")
    print(f"{len(found)} import cycle(s): import downwards (views -> services -> selectors -> models; "
          "tasks -> services) and enqueue tasks by name.", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    return report(argv or root_packages())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
