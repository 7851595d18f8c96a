"""docs/architecture.md is the map of the code: every `file.py: Name` it cites exists there,
every package it lists exists, and every import contract it describes is in pyproject.toml."""
from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
PKG = ROOT / "aiart_desktop"


def _module(rel: str) -> Path:
    """The module a doc path names: relative to aiart_desktop/, or a unique file name tail."""
    direct = PKG / rel
    if direct.is_file():
        return direct
    hits = [p for p in PKG.rglob("*.py") if p.as_posix().endswith("/" + rel)]
    assert len(hits) == 1, f"docs/architecture.md cites {rel}: found {hits}"
    return hits[0]


def _defines(tree: ast.AST, dotted: str) -> bool:
    names = dotted.split(".")
    body = list(getattr(tree, "body", []))
    for i, name in enumerate(names):
        found = None
        for node in body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name == name:
                found = node
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == name for t in node.targets):
                found = node
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                    and node.target.id == name:
                found = node
        if found is None:
            return False
        if i < len(names) - 1:
            if not isinstance(found, ast.ClassDef):
                return False
            body = list(found.body)
    return True


def test_every_cited_name_is_defined_where_the_map_says() -> None:
    refs = set(re.findall(r"`([a-z_/]+\.py): ([A-Za-z_][A-Za-z_.]*[A-Za-z_])", DOC))
    assert len(refs) >= 10, "the flow of one request should cite the code's real names"
    missing = []
    for rel, name in sorted(refs):
        tree = ast.parse(_module(rel).read_text(encoding="utf-8"))
        if not _defines(tree, name):
            missing.append(f"{rel}: {name}")
    assert not missing, f"docs/architecture.md cites names the code lacks: {missing}"


def test_every_package_on_the_map_exists_and_every_package_is_on_it() -> None:
    listed = set(re.findall(r"^ {2,6}([a-z_]+)/ ", DOC, flags=re.M))
    real = {p.parent.name for p in PKG.rglob("__init__.py") if p.parent != PKG}
    assert listed == real, f"map lists {sorted(listed)}, code has {sorted(real)}"


def test_the_import_rules_table_names_every_contract() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    ids = {c["id"] for c in cfg["tool"]["importlinter"]["contracts"]}
    table = set(re.findall(r"^\| `([a-z-]+)` \|", DOC, flags=re.M))
    assert ids == table, f"contracts {sorted(ids)}, table {sorted(table)}"
