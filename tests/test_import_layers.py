"""
The package's imports go one way (docs/architecture.md, .importlinter).

``lint-imports`` checks the layers contract in ``make quality``; these tests check what it does not:
that every module of the package is in some layer (a new module cannot slip past the contract), that
no import anywhere in the package (at the top of a module or inside a function) closes a cycle, and
that the only imports inside functions are the ones that have to be there.
"""

import ast
import configparser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "openedx_microcred"
PACKAGE = PACKAGE_DIR.name

# Platform packages that exist only inside edx-platform (or where edx-completion is installed): a
# module that may run without them imports them in the function that needs them, inside a try.
OPTIONAL_PLATFORM_PACKAGES = ("common", "completion", "lms", "openedx", "xblock", "xmodule")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict:
    """name → parsed source of every module of the package but its migrations."""
    return {
        module_name(path): ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for path in sorted(PACKAGE_DIR.rglob("*.py")) if "migrations" not in path.parts
    }


def imported_names(module: str, is_package: bool, node) -> list:
    """The absolute dotted names an import statement asks for (``from a import b`` asks for a and a.b)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        origin = ".".join(base + ([node.module] if node.module else []))
    else:
        origin = node.module
    return [origin] + [f"{origin}.{alias.name}" for alias in node.names]


def imports_with_scope(tree) -> list:
    """(import node, name of the enclosing function or None, name of the enclosing class or None)."""
    found = []

    def visit(node, function, klass):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, function, klass))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name, klass)
            elif isinstance(child, ast.ClassDef):
                visit(child, function, child.name)
            else:
                visit(child, function, klass)

    visit(tree, None, None)
    return found


def import_graph(modules) -> dict:
    """module → the package's modules it imports, from every import statement it holds."""
    graph = {}
    for module, tree in modules.items():
        is_package = module == PACKAGE or (PACKAGE_DIR.parent / module.replace(".", "/") / "__init__.py").exists()
        targets = set()
        for node, _function, _klass in imports_with_scope(tree):
            for name in imported_names(module, is_package, node):
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                # Importing the package itself (`from . import x` names x) is no edge to its __init__.
                if name and name not in (module, PACKAGE):
                    targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph) -> list:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def _contract():
    config = configparser.ConfigParser(inline_comment_prefixes=None, comment_prefixes=(";", "#"))
    config.read(ROOT / ".importlinter", encoding="utf-8")
    return config["importlinter:contract:layers"]


def contract_layer_lines() -> list:
    """The layers of .importlinter's layers contract as written, highest first."""
    lines = (line.strip() for line in _contract()["layers"].strip().splitlines())
    return [line for line in lines if line and not line.startswith(";")]


def contract_layers() -> list:
    """The layers of .importlinter's layers contract, highest first, each a set of module names."""
    container = _contract()["containers"].strip()
    return [{f"{container}.{name.strip()}" for name in line.replace("|", ":").split(":")}
            for line in contract_layer_lines()]


@pytest.fixture(scope="module", name="modules")
def fixture_modules():
    return package_modules()


def test_no_import_in_the_package_closes_a_cycle(modules):
    assert cycles(import_graph(modules)) == []


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import():
    # The check above would pass on a package it cannot read: here it must find the circle.
    modules = {
        "openedx_microcred.a": ast.parse("from . import b\n"),
        "openedx_microcred.b": ast.parse("def late():\n    from .c import thing\n"),
        "openedx_microcred.c": ast.parse("from openedx_microcred.a import x\n"),
        "openedx_microcred.d": ast.parse("from . import a\n"),
    }
    assert cycles(import_graph(modules)) == [["openedx_microcred.a", "openedx_microcred.b", "openedx_microcred.c"]]


def test_every_module_of_the_package_is_in_a_layer_of_the_contract(modules):
    layered = set().union(*contract_layers())
    unlayered = sorted(
        module for module in modules
        if module != PACKAGE and not any(module == layer or module.startswith(layer + ".") for layer in layered)
    )
    assert unlayered == [], "add these modules to a layer of .importlinter (docs/architecture.md)"


def test_no_layer_names_a_module_that_does_not_exist(modules):
    assert sorted(set().union(*contract_layers()) - set(modules)) == []


def test_functions_import_only_what_cannot_be_imported_at_the_top(modules):
    """
    An import inside a function hides a layering problem; the two that must stay are the app's
    ready() (Django's documented place for connecting receivers and registering checks and tasks)
    and the optional platform modules, which do not exist outside edx-platform.
    """
    misplaced = []
    for module, tree in modules.items():
        for node, function, klass in imports_with_scope(tree):
            if function is None:
                continue
            if (module, klass, function) == (f"{PACKAGE}.apps", "MicrocredConfig", "ready"):
                continue
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            optional = all(name.split(".")[0] in OPTIONAL_PLATFORM_PACKAGES for name in names)
            if getattr(node, "level", 0) == 0 and optional:
                continue
            misplaced.append(f"{module}:{node.lineno} in {function}()")
    assert misplaced == []


def test_the_modules_below_the_models_never_touch_the_database(modules):
    """The layers under ``models`` are pure: no ORM, no transactions (the platform adapter reads the platform's)."""
    layers = contract_layers()
    models_layer = layers.index({f"{PACKAGE}.models"})
    below = set().union(*layers[models_layer + 1:])
    below.discard(f"{PACKAGE}.platform")
    touching = []
    for module, tree in modules.items():
        if not any(module == layer or module.startswith(layer + ".") for layer in below):
            continue
        for node, _function, _klass in imports_with_scope(tree):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if any(name == "django.db" or name.startswith("django.db.") for name in names):
                touching.append(f"{module}:{node.lineno}")
    assert touching == []


def test_the_architecture_page_lists_the_layers_of_the_contract():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = page.split("<!-- layers: generated from .importlinter -->", 1)[1].split("<!-- /layers -->", 1)[0]
    listed = [line.strip() for line in block.strip().strip("`").strip().splitlines()]
    assert listed == contract_layer_lines()
