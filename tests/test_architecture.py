"""The package's layers point one way: no module of jplan imports itself through a cycle (issue 30), and a
study passes each of its pipeline stages once, in order."""

import ast
from pathlib import Path

import jplan

PACKAGE = Path(jplan.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] in ("configs", "examples"):  # data packages of an installed copy
            continue
        parts = ("jplan",) + path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


def import_graph() -> dict[str, set[str]]:
    """Module -> the jplan modules it imports (at module level or inside functions: a lazy import is still a
    dependency). `from pkg import name` counts as importing `pkg.name` when that is a module, else `pkg`."""
    mods = _modules()
    graph = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in mods else prefix for a in node.names]
            deps |= {t for t in targets if t in mods and t != name}
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out




def test_no_module_of_jplan_imports_itself_through_a_cycle():
    graph = import_graph()
    assert len(graph) > 60
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    # negative control: the check above can fail
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


STAGES = ["jplan.study.config", "jplan.study.jobs", "jplan.study.execution", "jplan.study.tables",
          "jplan.study.summary", "jplan.study.report"]
SHARED = {"jplan.study.storage", "jplan.study.measures"}


def test_study_stages_import_only_earlier_stages_and_storage():
    graph = import_graph()
    for i, stage in enumerate(STAGES):
        study_deps = {d for d in graph[stage] if d.startswith("jplan.study")}
        assert study_deps <= set(STAGES[:i]) | SHARED, (stage, study_deps - set(STAGES[:i]) - SHARED)
    for shared in SHARED:
        assert not {d for d in graph[shared] if d.startswith("jplan.study")}, shared
    assert set(STAGES) | SHARED <= graph["jplan.study.runner"] | {"jplan.study.jobs", "jplan.study.measures"}


def test_every_subpackage_ships_in_the_wheel():
    """pyproject.toml lists the packages by hand: a new subpackage missing there would be absent from a normal
    (non-editable) install."""
    import tomllib

    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(("jplan",) + p.parent.relative_to(PACKAGE).parts) for p in PACKAGE.rglob("__init__.py")}
    found |= {"jplan.configs", "jplan.examples"}
    assert found <= listed, sorted(found - listed)


#: The layers, lowest first: a module may import its own layer and the layers below it, never above.
LAYERS = [
    ("numerics and shared helpers", ("jplan.errors", "jplan._x64", "jplan._json", "jplan._files", "jplan._limits", "jplan._linalg",
                                     "jplan._simplex", "jplan._batching", "jplan._plotting", "jplan._programs")),
    ("economies", ("jplan.economies",)),
    ("solvers", ("jplan.solvers",)),
    ("procedures", ("jplan.procedures",)),
    ("Rudra, multi-year plans, sensitivity", ("jplan.rudra", "jplan.multiyear", "jplan.sensitivity")),
    ("studies", ("jplan.study",)),
    ("command line and the top-level namespace", ("jplan.cli", "jplan.__main__", "jplan")),
]


def layer(module: str) -> int:
    best = None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if module == p or module.startswith(p + "."):
                if best is None or len(p) > best[1]:
                    best = (i, len(p))
    assert best is not None, f"{module}: in no layer (add it to LAYERS and docs/architecture.md)"
    return best[0]


def test_layers_point_one_way():
    graph = import_graph()
    upward = [(m, d) for m, deps in graph.items() for d in deps if layer(d) > layer(m)]
    assert upward == [], upward
