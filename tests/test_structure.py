"""The code's shape (issue 12): no import cycles, small modules, analysis/ free of the web app.

Only module-level imports make a cycle that breaks at import time or couples two modules for
good; imports inside functions are deliberate late bindings and are left out.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("survey", "forms", "analysis")
MAX_LINES = 400
# audit rows name the signed-in official and address of the request that made the change; every
# admin action writes one, so the request is read in one place rather than passed by every caller.
SERVICES_MAY_IMPORT_FLASK = {"survey.services.audit"}


def _modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _top_level_imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """Project modules imported at module level (``if TYPE_CHECKING`` blocks excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for a in node.names:
                    full = f"{base}.{a.name}"
                    if full in modules:
                        out.add(full)
                    elif base in modules:
                        out.add(base)

    visit(tree.body)
    out.discard(name)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _top_level_imports(path, name, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                result.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return result


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    graph = _graph()
    # A package's __init__ importing its own submodules (blueprint views) is how Flask
    # blueprints register routes; the submodule importing ``bp`` back is not a cycle to fix.
    pruned = {m: {d for d in deps if not (m.startswith(d + ".") and d in graph)} for m, deps in graph.items()}
    assert _cycles(pruned) == []


def test_modules_are_small() -> None:
    big = {name: n for name, path in _modules().items()
           if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert big == {}


def test_analysis_knows_nothing_of_the_web_app() -> None:
    offenders = {}
    for name, path in _modules().items():
        if not name.startswith("analysis"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad = [n for n in names if n.split(".")[0] in ("flask", "flask_login", "survey",
                                                            "forms", "sqlalchemy", "werkzeug")]
            if bad:
                offenders[name] = bad
    assert offenders == {}


def test_services_hold_no_request_code() -> None:
    """survey/services/ keeps admin actions that CLI, jobs and views share: no Flask in them."""
    offenders = []
    for name, path in _modules().items():
        if not name.startswith("survey.services.") or name in SERVICES_MAY_IMPORT_FLASK:
            continue
        text = path.read_text(encoding="utf-8")
        if "from flask" in text or "import flask" in text:
            offenders.append(name)
    assert offenders == []
