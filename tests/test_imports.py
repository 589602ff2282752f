"""The import graph: no cycle inside booking/ (imports inside functions count), pages that do not reach into the
API layer, and solver/ and calendars/ importing neither Flask, SQLAlchemy nor booking."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path, package: str, modules: set[str] = frozenset()) -> set[str]:
    """What a module imports, inside functions too; `from pkg import sub` counts as importing pkg.sub
    alone when sub is one of `modules` (the package's __init__ is then not involved)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module or ""
            names = {f"{target}.{alias.name}" for alias in node.names}
            found |= names if names <= modules else names | {target}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def _modules(top: str) -> dict[str, Path]:
    modules = {}
    for path in (ROOT / top).rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def _graph(top: str) -> dict[str, set[str]]:
    modules = _modules(top)
    return {
        name: {
            m
            for m in _imports(path, name if path.name == "__init__.py" else name.rsplit(".", 1)[0], set(modules))
            if m in modules and m != name
        }
        for name, path in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_import_cycle_inside_the_services():
    services = {m: deps for m, deps in _graph("booking").items() if m.startswith("booking.services")}
    services = {m: {d for d in deps if d in services} for m, deps in services.items()}
    assert _cycle(services) is None, f"import cycle: {' → '.join(_cycle(services))}"


def test_no_import_cycle_anywhere_in_booking():
    """Pages, API, jobs, models and services together: the API's schemas, say, import the services at the top."""
    graph = _graph("booking")
    assert _cycle(graph) is None, f"import cycle: {' → '.join(_cycle(graph))}"


def test_the_web_pages_do_not_import_the_api_layer_but_its_problem_documents():
    for name, deps in _graph("booking").items():
        if name.startswith("booking.web"):
            assert not {d for d in deps if d.startswith("booking.api") and d != "booking.api.problems"}, name


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_solver_and_calendars_import_neither_flask_sqlalchemy_nor_booking():
    for top in ("solver", "calendars"):
        for name, path in _modules(top).items():
            forbidden = {m for m in _imports(path, name) if m.split(".")[0] in ("flask", "sqlalchemy", "booking")}
            assert not forbidden, f"{name} imports {sorted(forbidden)}"


def test_a_web_process_does_not_load_the_solver():
    """CP-SAT (and pandas, which ortools imports) is loaded by the scheduler's plan workers when they solve, not
    by every gunicorn worker that starts: about 0.4 s of CPU per start and its memory in each worker."""
    import subprocess
    import sys

    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from booking import create_app; create_app({'SQLALCHEMY_DATABASE_URI': 'sqlite://'}); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'ortools', 'pandas', 'solver'}))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")[-2]
    assert loaded == "['solver']"  # solver/'s instance, timeline and check: plans read and shown, no CP-SAT
