"""The shape of the package: imports point downward only.

An import graph of zoo/ read from the source (imports inside functions counted, ``if TYPE_CHECKING:`` blocks
not, the registry's built-in task modules added as the imports they are): no cycle; task modules import no
other task and nothing above the shared pieces; shared modules import no task. And loading a run to predict
imports neither the training nor the tuning module.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap

import pytest

import zoo
from zoo.registry import BUILTIN_TASK_MODULES

ROOT = os.path.dirname(zoo.__file__)
# Above the shared pieces: what a task module may not import (the registry imports the tasks).
ABOVE_TASKS = {"zoo", "zoo.registry", "zoo.runs", "zoo.training", "zoo.tuning", "zoo.cli", "zoo.serving",
               "zoo.fitting", "zoo.tuned", "zoo.distributed", "zoo.__main__"}
JOINS_TASKS = {"zoo.registry", "zoo.transfer"}  # the modules that may import a task module


def _modules() -> dict[str, str]:
    found = {}
    for folder, _, files in os.walk(ROOT):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                name = "zoo." + os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                found[name.removesuffix(".__init__")] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    return skipped


def import_graph() -> dict[str, set[str]]:
    """Module -> the zoo modules it imports anywhere in its body (functions included)."""
    modules = _modules()
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
        skipped = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    target = f"{base}.{node.module}" if node.module else base
                else:
                    target = node.module or ""
                for alias in node.names:
                    if f"{target}.{alias.name}" in modules:
                        graph[name].add(f"{target}.{alias.name}")
                    elif target in modules:
                        graph[name].add(target)
    graph["zoo.registry"].update(BUILTIN_TASK_MODULES)  # imported by name (importlib), on first use
    for name in graph:
        graph[name].discard(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


GRAPH = import_graph()
TASKS = [m for m in GRAPH if m.startswith("zoo.tasks.")]


def test_the_graph_reader_sees_imports_inside_functions_and_the_registry_loads():
    """The reader itself: it must see what the checks below rely on, or they pass for nothing."""
    assert set(TASKS) == set(BUILTIN_TASK_MODULES) and len(TASKS) == 5
    assert "zoo.rundir" in GRAPH["zoo.runs"] and "zoo.registry" in GRAPH["zoo.runs"]
    assert "zoo.transfer" in GRAPH["zoo.tasks.sentiment"]  # imported inside a method
    assert "zoo.training" in GRAPH["zoo"]  # inside zoo.__getattr__
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle():
    found = cycles(GRAPH)
    assert not found, "import cycles: " + "; ".join(
        " -> ".join(c) + f" ({', '.join(f'{m} imports {sorted(GRAPH[m] & set(c))}' for m in c)})" for c in found)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_a_task_module_imports_no_other_task_and_nothing_above_the_shared_pieces(task):
    wrong = sorted(m for m in GRAPH[task] if (m in TASKS and m != task) or m in ABOVE_TASKS)
    assert not wrong, f"{task} imports {wrong}"


def test_shared_modules_import_no_task():
    wrong = {m: sorted(GRAPH[m] & set(TASKS)) for m in GRAPH
             if m not in TASKS and m not in JOINS_TASKS and GRAPH[m] & set(TASKS)}
    assert not wrong, f"shared modules importing a task: {wrong}"


def test_the_ground_floor_imports_no_registry_run_or_training():
    for module in ("zoo.base", "zoo.rundir", "zoo.folders", "zoo.errors"):
        assert not GRAPH[module] & (ABOVE_TASKS | set(TASKS)), f"{module} imports {sorted(GRAPH[module])}"


def test_loading_a_run_and_predicting_imports_neither_training_nor_tuning(trained):
    entry = "sentiment/bag_of_embeddings"
    run = trained(entry, zoo.get(entry).task.smoke_data, epochs=1, batch_size=32)  # test_models' run
    script = textwrap.dedent(f"""
        import sys, zoo
        run = zoo.load({run.path!r})
        print(run.predict(["good, not bad"])[0]["output"])
        print(sorted(m for m in ("zoo.training", "zoo.tuning", "zoo.fitting", "keras_tuner.tuners")
                     if m in sys.modules))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    label, imported = done.stdout.strip().splitlines()[-2:]
    assert label in ("positive", "negative")
    assert imported == "[]", f"loading and predicting imported {imported}"
