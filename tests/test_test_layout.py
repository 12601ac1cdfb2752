"""
The tests' own layout (issue 14): a test module is not a library, so no module imports another.

What several modules share lives in a helper module named for what it holds (tests/i18n.py,
tests/openbadges/samples.py, tests/users.py, ...) or, for fixtures, in the nearest conftest.py.
"""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def module_name(path):
    """The dotted name of a module of tests/ (``tests.openbadges.samples``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source, name, is_package=False):
    """Every module (and every name that may be a module) that the source of module ``name`` imports."""
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def imports_of_test_modules(source, name, is_package=False):
    """The test modules that ``source``, as module ``name``, imports."""
    return sorted({module for module in imported_modules(source, name, is_package)
                   if module.rpartition(".")[2].startswith("test_")})


def python_files():
    """Every Python module under tests/ (the JavaScript verifier's node_modules aside)."""
    return sorted(path for path in TESTS.rglob("*.py") if "node_modules" not in path.parts)


def test_no_module_of_the_tests_imports_a_test_module():
    found = {}
    for path in python_files():
        imports = imports_of_test_modules(path.read_text(encoding="utf-8"), module_name(path),
                                          is_package=path.name == "__init__.py")
        if imports:
            found[str(path.relative_to(ROOT))] = imports
    assert not found, (
        f"test modules imported as libraries (move what they share into a helper module or a conftest.py): {found}")


def test_the_check_finds_every_way_of_importing_a_test_module():
    assert imports_of_test_modules("from .test_document import issued", "tests.openbadges.test_linkedin") == [
        "tests.openbadges.test_document"]
    assert imports_of_test_modules("from ..test_i18n import PSEUDO", "tests.reports.test_views") == ["tests.test_i18n"]
    assert imports_of_test_modules("from .openbadges import test_document as samples", "tests.credential_corpus") == [
        "tests.openbadges.test_document"]
    assert imports_of_test_modules("import tests.test_i18n", "tests.test_x") == ["tests.test_i18n"]
    assert imports_of_test_modules("from tests.test_i18n import pseudo", "tests.test_x") == ["tests.test_i18n"]
    assert imports_of_test_modules("from . import test_i18n", "tests", is_package=True) == ["tests.test_i18n"]
    assert imports_of_test_modules(
        "from .i18n import pseudo\nfrom .openbadges.samples import issued\nimport pytest", "tests.test_x") == []


def test_the_check_reads_every_module_of_the_tests():
    names = {module_name(path) for path in python_files()}
    assert {"tests.conftest", "tests.i18n", "tests.openbadges.samples", "tests.test_test_layout",
            "tests.reports.test_views"} <= names
