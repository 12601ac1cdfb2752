"""The plugin reads its settings in one place (app_settings.microcred_settings), and each default is written once."""

import ast
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from openedx_microcred import app_settings
from openedx_microcred.app_settings import microcred_settings
from openedx_microcred.settings.common import DEFAULTS

PACKAGE = Path(app_settings.__file__).resolve().parent
# Where a MICROCRED_ setting may be read by its full name: the accessor, and the settings modules that apply defaults.
READERS = {PACKAGE / "app_settings.py", *(PACKAGE / "settings").glob("*.py")}
ATTRIBUTE_FUNCTIONS = {"getattr", "hasattr", "setattr", "delattr"}


def _package_sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" not in path.relative_to(PACKAGE).parts:
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _setting_name_constants(trees):
    """Names of the module constants that hold a setting's name (organizations.PAIRINGS_SETTING...)."""
    return {target.id for tree in trees for node in tree.body if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant) and str(node.value.value).startswith("MICROCRED_")
            for target in node.targets if isinstance(target, ast.Name)}


def _is_setting_name(node, constants):
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value.startswith("MICROCRED_")
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
    return name in constants


def settings_reads(tree, constants=frozenset()):
    """(line, code) of every read of a MICROCRED_ setting that does not go through the accessor."""
    reads = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("MICROCRED_"):
            reads.append(node)  # settings.MICROCRED_X
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ATTRIBUTE_FUNCTIONS \
                and len(node.args) > 1 and _is_setting_name(node.args[1], constants):
            reads.append(node)  # getattr(settings, "MICROCRED_X", default), getattr(settings, X_SETTING)
        elif isinstance(node, ast.Subscript) and _is_setting_name(node.slice, constants):
            reads.append(node)  # DEFAULTS["MICROCRED_X"], vars(settings)["MICROCRED_X"]
    return sorted((node.lineno, ast.unparse(node)) for node in reads)


def test_the_scan_finds_every_way_of_reading_a_setting_by_its_name():
    source = '''
NAME = "MICROCRED_DID_METHOD"
a = settings.MICROCRED_DID_METHOD
b = getattr(settings, "MICROCRED_ISSUER", None) or {}
c = getattr(settings, NAME, "key")
d = hasattr(django_settings, module.NAME)
e = DEFAULTS["MICROCRED_REPORT_MIN_COHORT"]
f = microcred_settings.DID_METHOD
g = getattr(settings, "LMS_ROOT_URL", "")
h = f"no such account in MICROCRED_PLATFORM_ACCOUNTS[{name!r}]"
'''
    tree = ast.parse(source)
    assert sorted(line for line, _code in settings_reads(tree, _setting_name_constants([tree]))) == [3, 4, 5, 6, 7]


def test_the_package_reads_its_settings_only_through_microcred_settings():
    sources = list(_package_sources())
    constants = _setting_name_constants(tree for _path, tree in sources)
    found = [f"{path.relative_to(PACKAGE.parent)}:{line}: {code}" for path, tree in sources if path not in READERS
             for line, code in settings_reads(tree, constants)]
    assert not found, "read these through openedx_microcred.app_settings.microcred_settings:\n" + "\n".join(found)


def test_every_setting_the_package_reads_through_the_accessor_has_a_default():
    """A typo in code that rarely runs (an error path) fails here, not on a platform."""
    names = set()
    for _path, tree in _package_sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and getattr(node.value, "id", None) == "microcred_settings" \
                    and node.attr != "default":
                names.add(node.attr)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and getattr(node.func.value, "id", None) == "microcred_settings" and node.func.attr == "default":
                names.add(node.args[0].value)
    assert names, "the scan found no read through microcred_settings (is it broken?)"
    assert not {f"MICROCRED_{name}" for name in names} - set(DEFAULTS)


def test_the_accessor_is_a_leaf_module():
    tree = ast.parse(Path(app_settings.__file__).read_text(encoding="utf-8"))
    imported = {(node.level, node.module) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Import)]
    assert imported == {(0, "django.conf"), (1, "settings.common")}


# --- The accessor ----------------------------------------------------------------------------------


def test_a_setting_is_read_from_django_settings_at_each_read():
    with override_settings(MICROCRED_REPORT_MIN_COHORT=3):
        assert microcred_settings.REPORT_MIN_COHORT == 3
        with override_settings(MICROCRED_REPORT_MIN_COHORT=7):
            assert microcred_settings.REPORT_MIN_COHORT == 7
        assert microcred_settings.REPORT_MIN_COHORT == 3


def test_the_settings_fixture_changes_what_the_accessor_reads(settings):
    settings.MICROCRED_DID_METHOD = "web"
    assert microcred_settings.DID_METHOD == "web"
    settings.MICROCRED_PLATFORM_ACCOUNTS = {"credly": {"backend": "credly"}}
    assert microcred_settings.PLATFORM_ACCOUNTS == {"credly": {"backend": "credly"}}


def test_the_operators_value_wins_even_when_it_is_empty(settings):
    settings.MICROCRED_CELERY_QUEUE = "edx.lms.core.high"
    assert microcred_settings.CELERY_QUEUE == "edx.lms.core.high"
    settings.MICROCRED_DID_METHOD = None  # not replaced by the default: the code that reads it decides
    assert microcred_settings.DID_METHOD is None


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_a_host_that_never_ran_plugin_settings_gets_the_default(settings, name):
    delattr(settings, name)
    short = name.removeprefix("MICROCRED_")
    assert getattr(microcred_settings, short) == DEFAULTS[name]
    assert microcred_settings.default(short) == DEFAULTS[name]


def test_the_host_applies_every_default_through_plugin_settings():
    """The sandbox, like edx-platform, runs plugin_settings; its own values (in sandbox/settings.py) win."""
    assert all(hasattr(django_settings, name) for name in DEFAULTS)


def test_an_unknown_setting_raises_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="MICROCRED_REPORT_MIN_COHORTS"):
        microcred_settings.REPORT_MIN_COHORTS  # pylint: disable=pointless-statement  (reading it is what raises)
    with pytest.raises(AttributeError, match="MICROCRED_NOPE"):
        microcred_settings.default("NOPE")
    assert not hasattr(microcred_settings, "MICROCRED_REPORT_MIN_COHORT")  # the name is given without its prefix


@override_settings(MICROCRED_NOT_A_SETTING=1)
def test_a_microcred_setting_without_a_default_is_not_readable():
    with pytest.raises(AttributeError, match="MICROCRED_NOT_A_SETTING"):
        microcred_settings.NOT_A_SETTING  # pylint: disable=pointless-statement  (reading it is what raises)


def test_the_settings_are_listed_for_introspection():
    assert {name.removeprefix("MICROCRED_") for name in DEFAULTS} <= set(dir(microcred_settings))
