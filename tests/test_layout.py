"""The package's shape: no import cycles between its packages and modules, commands together."""

import ast
import os

import slidesim
import slidesim.kernels

ROOT = os.path.dirname(slidesim.__file__)


def modules():
    """Dotted module name -> file, for slidesim and its kernels."""
    found = {}
    for directory, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                dotted = "slidesim." + os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                found[dotted.removesuffix(".__init__")] = path
    kernels = os.path.dirname(slidesim.kernels.__file__)
    for name in os.listdir(kernels):
        if name.endswith(".py"):
            dotted = "slidesim.kernels." + name[:-3]
            found[dotted.removesuffix(".__init__")] = os.path.join(kernels, name)
    return found


def unit_of(module):
    """The unit a dependency is counted between: a subpackage (slidesim.models) or a module
    directly in slidesim (slidesim.simulation)."""
    return ".".join(module.split(".")[:2])


def import_graph():
    """unit -> units it imports anywhere in its files (module level or inside functions)."""
    known = modules()
    graph = {}
    for module, path in known.items():
        edges = graph.setdefault(unit_of(module), set())
        with open(path) as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                while name and name not in known:
                    name = name.rpartition(".")[0]
                if name and name != "slidesim" and unit_of(name) != unit_of(module):
                    edges.add(unit_of(name))
    return graph


def cycles(graph):
    """Strongly connected components with more than one unit (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_between_packages():
    graph = import_graph()
    assert "slidesim.models" in graph and "slidesim.simulation" in graph  # the walk found them
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_state_and_the_catalog_depend_on_nothing_of_slidesim():
    graph = import_graph()
    assert graph["slidesim.state"] == set()
    assert graph["slidesim.catalog"] == set()


def test_every_command_lives_in_slidesim_commands():
    from slidesim.cli import LazyGroup

    assert all(target.startswith("slidesim.commands.") for target in LazyGroup.lazy.values())
    for name in ("analysis", "fields", "ml", "sweep", "validation"):
        for file in os.listdir(os.path.join(ROOT, name)):
            with open(os.path.join(ROOT, name, file)) if file.endswith(".py") else open(
                    os.devnull) as handle:
                assert "@click.command" not in handle.read(), f"{name}/{file}"
