"""Print which inspect_app packages import which, and the imports that go against the layers.

    .venv/bin/python scripts/import_graph.py          # the package graph, one line per package
    .venv/bin/python scripts/import_graph.py --lines  # every import between packages, with its line

Uses grimp, the graph builder import-linter runs on (function-level imports included).
"""
from __future__ import annotations

import sys
from collections import defaultdict

import grimp

ROOT = "inspect_app"


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def main() -> None:
    graph = grimp.build_graph(ROOT, include_external_packages=False)
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = package_of(module), package_of(imported)
            if a != b and ROOT not in (a, b):
                details = graph.get_import_details(importer=module, imported=imported)
                where = ", ".join(f"{d['importer']}:{d['line_number']}" for d in details) or module
                edges[(a, b)].append(f"{where} -> {imported}")
    by_package: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        by_package[a].add(b)
    short = lambda name: name.removeprefix(ROOT + ".")  # noqa: E731
    for package in sorted({package_of(m) for m in graph.modules} - {ROOT}):
        targets = sorted(short(t) for t in by_package.get(package, ()))
        print(f"{short(package):<24} -> {', '.join(targets) if targets else '—'}")
    mutual = sorted({tuple(sorted((a, b))) for a, b in edges if (b, a) in edges})
    print(f"\n{len(edges)} package-to-package edges; {len(mutual)} pairs import each other:")
    for a, b in mutual:
        print(f"  {short(a)} <-> {short(b)}")
    if "--lines" in sys.argv:
        print()
        for (a, b), lines in sorted(edges.items()):
            print(f"{short(a)} -> {short(b)}")
            for line in lines:
                print(f"    {line}")


if __name__ == "__main__":
    main()
