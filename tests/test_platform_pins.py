"""
The supported release lines are one list kept in four places: the pin files
(requirements/edx-platform/<release>.txt), their tox envs (edx-<release>), the envs `.ci/run` runs
and the "Supported release lines" table of docs/install.md. Dropping or adding a line is a
deliberate change of all four; these tests say which one was forgotten.

Each check is a function of file paths returning its problems, so that the tests below can also run
it against broken copies in a temporary directory: a check that cannot fail is no check.
"""

import configparser
import itertools
import re
import shutil
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / "requirements" / "edx-platform"
TOX_INI = ROOT / "tox.ini"
CI_RUN = ROOT / ".ci" / "run"
INSTALL_DOC = ROOT / "docs" / "install.md"

# The header of a pin file: "# key: value" lines before the first pin.
HEADER_KEYS = ("release", "release branch", "python", "source", "commit")
HEADER_LINE = re.compile(r"^# (?P<key>[a-z ]+): (?P<value>\S.*)$")
# What a pip-compile pin looks like once its `# via` comments, extras and markers are gone.
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!_-]+)$")
SOURCE = re.compile(r"^github\.com/[\w.-]+/[\w.-]+ requirements/edx/base\.txt$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
EDX_ENV = "edx-"


# --- The pin files ----------------------------------------------------------------------------------

def pin_files(directory=PINS):
    return sorted(directory.glob("*.txt"))


def read_header(path):
    """The "# key: value" lines of the file's leading comment block, as a dict."""
    header = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        match = HEADER_LINE.match(line)
        if match and match["key"] in HEADER_KEYS:
            header[match["key"]] = match["value"]
    return header


def read_pins(path):
    """{canonical name: version} of the file's pins (tests/test_platform_pins.py checks the syntax)."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            pins[canonicalize_name(match["name"])] = match["version"]
    return pins


def pin_file_problems(path):
    """What is wrong with one pin file: its header, then each line that is not `name==version`."""
    problems = []
    header = read_header(path)
    release = path.stem
    for key in HEADER_KEYS:
        if key not in header:
            problems.append(f"{path.name}: the header has no '# {key}: ...' line")
    if header.get("release", release) != release:
        problems.append(f"{path.name}: the header names the release {header['release']!r}, not {release!r}")
    expected_branch = "master" if release == "master" else f"open-release/{release}.master"
    if header.get("release branch", expected_branch) != expected_branch:
        problems.append(f"{path.name}: the release branch is {header['release branch']!r}, "
                        f"edx-platform's is {expected_branch!r}")
    if "python" in header and not re.fullmatch(r"3\.\d+", header["python"]):
        problems.append(f"{path.name}: '# python: {header['python']}' is not a Python version (3.x)")
    if "source" in header and not SOURCE.match(header["source"]):
        problems.append(f"{path.name}: '# source: {header['source']}' does not name a repository and "
                        "its requirements/edx/base.txt")
    if "commit" in header and not COMMIT.match(header["commit"]):
        problems.append(f"{path.name}: '# commit: {header['commit']}' is not a full commit hash")

    seen = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        where = f"{path.name}:{number}: {line!r}"
        match = PIN.match(line)
        if not match:
            problems.append(f"{where} is not a `name==version` pin")
            continue
        try:
            requirement = Requirement(line)
            Version(match["version"])
        except (InvalidRequirement, InvalidVersion) as error:
            problems.append(f"{where} is not a valid pin: {error}")
            continue
        name = canonicalize_name(requirement.name)
        if name in seen:
            problems.append(f"{where} pins {name} again (line {seen[name]})")
        seen[name] = number
    if not seen:
        problems.append(f"{path.name}: no pins")
    return problems


# --- tox.ini and .ci/run ----------------------------------------------------------------------------

def _expand(section):
    """tox's generative section names: "testenv:edx-{a,b}" → ["edx-a", "edx-b"]."""
    name = section.split(":", 1)[1]
    parts = re.split(r"\{([^}]*)\}", name)
    choices = [[part] if i % 2 == 0 else part.split(",") for i, part in enumerate(parts)]
    return ["".join(combination) for combination in itertools.product(*choices)]


def _by_factor(value):
    """A tox setting written per factor ("sumac,teak: x" lines) as {factor: x}."""
    settings = {}
    for line in value.splitlines():
        match = re.match(r"^\s*([\w,]+):\s*(\S.*)$", line)
        if match:
            for factor in match[1].split(","):
                settings[factor] = match[2]
    return settings


def tox_release_envs(tox_ini=TOX_INI):
    """{release: {"install_command": ..., "basepython": ..., "commands": ...}} of the edx-* envs."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(tox_ini, encoding="utf-8")
    envs = {}
    for section in config.sections():
        if not section.startswith(f"testenv:{EDX_ENV}"):
            continue
        install = _by_factor(config[section].get("install_command", ""))
        basepython = _by_factor(config[section].get("basepython", ""))
        for env in _expand(section):
            release = env[len(EDX_ENV):]
            envs[release] = {"install_command": install.get(release, ""),
                             "basepython": basepython.get(release, ""),
                             "commands": config[section].get("commands", "")}
    return envs


def tox_env_problems(tox_ini=TOX_INI, pins_dir=PINS):
    """Every pin file has its env, every env its pin file, constraining with it, on its Python."""
    problems = []
    envs = tox_release_envs(tox_ini)
    releases = {path.stem: path for path in pin_files(pins_dir)}
    for release in sorted(set(releases) - set(envs)):
        problems.append(f"requirements/edx-platform/{release}.txt has no tox env {EDX_ENV}{release}")
    for release in sorted(set(envs) - set(releases)):
        problems.append(f"tox env {EDX_ENV}{release} has no requirements/edx-platform/{release}.txt")
    for release in sorted(set(envs) & set(releases)):
        env = envs[release]
        constraint = f"-c {{tox_root}}/requirements/edx-platform/{release}.txt"
        if constraint not in env["install_command"]:
            problems.append(f"tox env {EDX_ENV}{release}: its install_command does not constrain with "
                            f"{release}.txt ({env['install_command']!r})")
        python = read_header(releases[release]).get("python")
        if env["basepython"] != f"python{python}":
            problems.append(f"tox env {EDX_ENV}{release}: basepython {env['basepython']!r}, the pins are "
                            f"compiled for Python {python}")
        if "pip check" not in env["commands"]:
            problems.append(f"tox env {EDX_ENV}{release} does not run `pip check`")
    return problems


def ci_release_envs(ci_run=CI_RUN):
    """The edx-* tox envs the CI script runs (its commands, not its comments)."""
    envs = set()
    for line in ci_run.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0]
        for match in re.finditer(r"\btox\b.*?\s-e\s+(\S+)", line):
            envs.update(env for env in match[1].split(",") if env.startswith(EDX_ENV))
    return {env[len(EDX_ENV):] for env in envs}


def ci_problems(ci_run=CI_RUN, tox_ini=TOX_INI):
    """Where .ci/run and tox.ini disagree on the edx-platform release environments run."""
    problems = []
    in_tox, in_ci = set(tox_release_envs(tox_ini)), ci_release_envs(ci_run)
    for release in sorted(in_tox - in_ci):
        problems.append(f".ci/run does not run tox env {EDX_ENV}{release}")
    for release in sorted(in_ci - in_tox):
        problems.append(f".ci/run runs {EDX_ENV}{release}, which tox.ini does not define")
    return problems


# --- docs/install.md --------------------------------------------------------------------------------

TABLE_HEADING = "## Supported release lines"
TABLE_COLUMNS = ("Release line", "Python", "Django", "openedx-events", "Pins taken from", "Checked")


def supported_lines_table(doc=INSTALL_DOC):
    """{release: {column: cell}} of the table under the "Supported release lines" heading."""
    text = doc.read_text(encoding="utf-8")
    if TABLE_HEADING not in text:
        return None
    section = text.split(TABLE_HEADING, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    if len(rows) < 2:
        return None
    columns = [cell.strip() for cell in rows[0].strip("|").split("|")]
    table = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        entry = dict(zip(columns, cells))
        table[entry.get(columns[0], "").lower()] = entry
    return table


def _version(cell):
    return cell.strip("` ")


def docs_problems(doc=INSTALL_DOC, pins_dir=PINS):
    """The table lists every pin file's line, with the Python, Django and openedx-events it pins."""
    table = supported_lines_table(doc)
    if table is None:
        return [f"{doc.name} has no table under {TABLE_HEADING!r}"]
    problems = []
    some_row = next(iter(table.values()), {})
    for column in TABLE_COLUMNS:
        if column not in some_row:
            problems.append(f"{doc.name}: the table has no column {column!r}")
    if problems:
        return problems
    releases = {path.stem: path for path in pin_files(pins_dir)}
    for release in sorted(set(releases) - set(table)):
        problems.append(f"{doc.name}: the table has no row for {release} (requirements/edx-platform/{release}.txt)")
    for release in sorted(set(table) - set(releases)):
        problems.append(f"{doc.name}: the table lists {release!r}, which has no pin file")
    for release in sorted(set(releases) & set(table)):
        row, header, pins = table[release], read_header(releases[release]), read_pins(releases[release])
        expected = {"Python": header.get("python"), "Django": pins.get("django"),
                    "openedx-events": pins.get("openedx-events")}
        for column, value in expected.items():
            if _version(row[column]) != value:
                problems.append(f"{doc.name}: {release} has {column} {row[column]!r}, "
                                f"{release}.txt pins {value}")
        source = header.get("source", "").split(" ")[0].removeprefix("github.com/")
        commit = header.get("commit", "")[:7]
        if source not in row["Pins taken from"] or commit not in row["Pins taken from"]:
            problems.append(f"{doc.name}: {release}'s pins are from {source} {commit}, the table says "
                            f"{row['Pins taken from']!r}")
        if f"tox -e {EDX_ENV}{release}" not in row["Checked"]:
            problems.append(f"{doc.name}: {release}'s 'Checked' does not name `tox -e {EDX_ENV}{release}`")
    return problems


# --- The tests --------------------------------------------------------------------------------------

def test_there_is_a_pin_file_for_each_supported_release_line():
    assert {path.stem for path in pin_files()} >= {"sumac", "teak", "ulmo", "master"}


@pytest.mark.parametrize("path", pin_files(), ids=lambda path: path.stem)
def test_each_pin_file_names_its_release_and_source_and_holds_only_pins(path):
    assert pin_file_problems(path) == []


def test_each_pin_file_has_its_tox_env_and_each_env_its_pin_file():
    assert tox_env_problems() == []


def test_ci_runs_the_tox_env_of_every_release_line():
    assert ci_problems() == []


def test_the_install_guide_lists_each_release_line_with_the_versions_its_pins_hold():
    assert docs_problems() == []


# The checks against broken copies of the real files.

@pytest.fixture
def copy(tmp_path):
    """A copy of the pin files, tox.ini, .ci/run and docs/install.md to break."""
    shutil.copytree(PINS, tmp_path / "pins")
    for source in (TOX_INI, CI_RUN, INSTALL_DOC):
        shutil.copy(source, tmp_path / source.name)

    def edit(name, old, new, count=1):
        path = tmp_path / name
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, count), encoding="utf-8")

    copy = type("Copy", (), {})()
    copy.dir, copy.pins, copy.edit = tmp_path, tmp_path / "pins", edit
    copy.tox, copy.ci, copy.doc = tmp_path / "tox.ini", tmp_path / "run", tmp_path / "install.md"
    return copy


def test_the_copies_are_clean_before_they_are_broken(copy):
    assert [problem for path in pin_files(copy.pins) for problem in pin_file_problems(path)] == []
    assert tox_env_problems(copy.tox, copy.pins) == []
    assert ci_problems(copy.ci, copy.tox) == []
    assert docs_problems(copy.doc, copy.pins) == []


@pytest.mark.parametrize("old, new, problem", [
    ("# release: teak\n", "# release: tea\n", "names the release 'tea'"),
    ("# release: teak\n", "", "no '# release: ...' line"),
    ("# source: github.com/nelc/edx-platform requirements/edx/base.txt", "# source: nelc's fork",
     "does not name a repository"),
    ("# release branch: open-release/teak.master", "# release branch: open-release/sumac.master",
     "edx-platform's is 'open-release/teak.master'"),
    ("# commit: 0a80737b6f3870eeda4a096d72f8ed7a3677e53e", "# commit: 0a80737", "not a full commit hash"),
    ("django==4.2.20\n", "django>=4.2\n", "'django>=4.2' is not a `name==version` pin"),
    ("django==4.2.20\n", "django==4.2.20 ; python_version >= '3.8'\n", "is not a `name==version` pin"),
    ("django==4.2.20\n", "-e git+https://github.com/openedx/x.git#egg=x\n", "is not a `name==version` pin"),
    ("django==4.2.20\n", "django==4.2.20\nDjango==4.2.21\n", "pins django again"),
    ("django==4.2.20\n", "django==four\n", "'django==four' is not a valid pin"),
])
def test_a_broken_pin_file_is_reported(copy, old, new, problem):
    copy.edit("pins/teak.txt", old, new)
    problems = pin_file_problems(copy.pins / "teak.txt")
    assert any(problem in reported for reported in problems), problems


def test_a_pin_file_without_a_tox_env_and_an_env_without_a_pin_file_are_reported(copy):
    shutil.copy(copy.pins / "ulmo.txt", copy.pins / "verawood.txt")
    copy.edit("tox.ini", "[testenv:edx-{sumac,teak,ulmo,master}]", "[testenv:edx-{sumac,teak,ulmo,master,redwood}]")
    assert tox_env_problems(copy.tox, copy.pins) == [
        "requirements/edx-platform/verawood.txt has no tox env edx-verawood",
        "tox env edx-redwood has no requirements/edx-platform/redwood.txt",
    ]


def test_a_tox_env_constraining_with_another_lines_pins_or_on_another_python_is_reported(copy):
    copy.edit("tox.ini", "-c {tox_root}/requirements/edx-platform/teak.txt",
              "-c {tox_root}/requirements/edx-platform/sumac.txt")
    copy.edit("tox.ini", "    master: python3.12", "    master: python3.11")
    problems = tox_env_problems(copy.tox, copy.pins)
    assert len(problems) == 2, problems
    assert problems[0] == "tox env edx-master: basepython 'python3.11', the pins are compiled for Python 3.12"
    assert problems[1].startswith("tox env edx-teak: its install_command does not constrain with teak.txt")


def test_a_release_line_the_ci_forgets_or_invents_is_reported(copy):
    copy.edit("run", "edx-teak,", "")
    assert ci_problems(copy.ci, copy.tox) == [".ci/run does not run tox env edx-teak"]
    copy.edit("run", "edx-sumac,", "edx-sumac,edx-palm,")
    assert ci_problems(copy.ci, copy.tox) == [".ci/run does not run tox env edx-teak",
                                              ".ci/run runs edx-palm, which tox.ini does not define"]


def test_a_release_line_named_only_in_a_comment_of_the_ci_does_not_count(copy):
    copy.edit("run", "edx-teak,", "")
    (copy.ci).write_text(copy.ci.read_text(encoding="utf-8") + "# tox -e edx-teak\n", encoding="utf-8")
    assert ci_problems(copy.ci, copy.tox) == [".ci/run does not run tox env edx-teak"]


def test_an_install_guide_that_disagrees_with_the_pins_is_reported(copy):
    copy.edit("pins/ulmo.txt", "django==5.2.11\n", "django==5.2.12\n")
    copy.edit("pins/teak.txt", "openedx-events==10.2.0\n", "openedx-events==10.3.0\n")
    problems = docs_problems(copy.doc, copy.pins)
    assert problems == [
        "install.md: teak has openedx-events '10.2.0', teak.txt pins 10.3.0",
        "install.md: ulmo has Django '5.2.11', ulmo.txt pins 5.2.12",
    ]


def test_a_release_line_missing_from_the_install_guide_is_reported(copy):
    (copy.pins / "master.txt").rename(copy.pins / "verawood.txt")
    copy.edit("pins/verawood.txt", "# release: master", "# release: verawood")
    problems = docs_problems(copy.doc, copy.pins)
    assert problems == ["install.md: the table has no row for verawood (requirements/edx-platform/verawood.txt)",
                        "install.md: the table lists 'master', which has no pin file"]


def test_an_install_guide_without_the_table_is_reported(copy):
    copy.edit("install.md", TABLE_HEADING, "## Release lines")
    assert docs_problems(copy.doc, copy.pins) == ["install.md has no table under '## Supported release lines'"]
