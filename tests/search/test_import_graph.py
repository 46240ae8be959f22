"""The search package's import graph: its modules import downwards only, never in a circle.

import-linter's layer contracts (pyproject.toml) order the rooms; this test also catches a
circle among modules no contract lists, and one through a lazy import inside a function (the
circle embedder -> onnx_embedder -> torch_embedder -> embedder was of that kind).
"""

from __future__ import annotations

import grimp


def test_no_module_of_search_is_part_of_an_import_circle() -> None:
    graph = grimp.build_graph("papertide")
    circles = [
        (importer, imported)
        for importer in sorted(graph.find_children("papertide.search") | graph.find_descendants("papertide.search"))
        for imported in sorted(graph.find_modules_directly_imported_by(importer))
        if graph.chain_exists(importer=imported, imported=importer)
    ]
    assert circles == []
