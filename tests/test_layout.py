"""The house rules of the layout: imports point one way, no two modules import each other, the README's
layout names every module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("ontology", "graph", "loaders", "reasoning", "generator", "api")
#: what each package may import besides itself
ALLOWED = {
    "ontology": set(),
    "graph": {"ontology"},
    "loaders": {"graph", "ontology"},
    "reasoning": {"graph", "ontology"},
    "generator": {"loaders", "ontology"},
    "api": {"reasoning", "loaders", "generator", "graph", "ontology"},
}


def _modules() -> dict[str, Path]:
    mods = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[tuple[str, bool]]:
    """(module imported, at module level) of one module; ``if TYPE_CHECKING:`` blocks left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[tuple[str, bool]] = set()

    def known(target: str) -> str | None:
        while target and target not in mods:
            if "." not in target:
                return None
            target = target.rsplit(".", 1)[0]
        return target

    def walk(node: ast.AST, top: bool) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else node.module or ""
            targets = [f"{base}.{a.name}" for a in node.names]
        else:
            targets = []
        for t in targets:
            k = known(t)
            if k is not None and k != name:
                found.add((k, top))
        inner = top and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            walk(child, inner)

    for stmt in tree.body:
        walk(stmt, True)
    return found


def _graph() -> tuple[dict[str, Path], dict[str, set[tuple[str, bool]]]]:
    mods = _modules()
    return mods, {name: _imports(name, path, mods) for name, path in mods.items()}


def test_imports_point_one_way():
    _, edges = _graph()
    wrong = sorted(f"{m} -> {t}" for m, es in edges.items() for t, _ in es
                   if t.split(".")[0] != m.split(".")[0] and t.split(".")[0] not in ALLOWED[m.split(".")[0]])
    assert wrong == [], "imports against the layers (api -> reasoning, loaders, generator -> graph -> ontology)"


def test_no_two_modules_import_each_other():
    """No circle, not even through an import inside a function (a circle works only by line order)."""
    _, edges = _graph()
    g = nx.DiGraph((m, t) for m, es in edges.items() for t, _ in es)
    cycles = [" -> ".join(c) for c in nx.simple_cycles(g)]
    assert cycles == []


def test_the_checker_sees_a_circle(tmp_path):
    """The import walker finds module-level, relative and in-function imports (so the two tests above can fail)."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from . import b\n", encoding="utf-8")
    b.write_text("def f():\n    from .a import x\n", encoding="utf-8")
    mods = {"pkg.a": a, "pkg.b": b}
    assert _imports("pkg.a", a, mods) == {("pkg.b", True)}
    assert _imports("pkg.b", b, mods) == {("pkg.a", False)}


def _layout_block() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return readme[readme.index("<!-- layout:begin -->"):readme.index("<!-- layout:end -->")]


def test_readme_layout_names_every_module_and_nothing_else():
    named: set[str] = set()
    package = None
    for line in _layout_block().splitlines():
        head = re.match(r"^(\w+)/\s", line)
        if head:
            package = head.group(1)
        elif package is not None:
            named.update(f"{package}/{f}" for f in re.findall(r"(?<![\w/])([\w/]+\.py)\b", line))
    actual = {p.relative_to(REPO).as_posix() for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")
              if p.name != "__init__.py"}
    assert sorted(actual - named) == [], "modules missing from the README's layout"
    assert sorted(named - actual) == [], "the README's layout names modules that do not exist"
