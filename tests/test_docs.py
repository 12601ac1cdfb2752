"""The docs cannot fall behind the code: every setting is documented, every linked doc exists."""

import ast
import re
from pathlib import Path

import pytest

from openedx_microcred.settings.common import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_IMAGE_BYTES = 300 * 1024
GUIDE = ROOT / "docs" / "course-team-guide.md"
LEARNER_GUIDE = ROOT / "docs" / "learner-guide.md"
GUIDE_IMAGES = ROOT / "docs" / "images" / "course-team"


def _local_links(markdown_file):
    for target in LINK.findall(markdown_file.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue  # http(s)://, mailto:, in-page anchors
        yield target.split("#", 1)[0]


def _local_images(markdown_file):
    """(alt text, path) of every image the file shows from the repository."""
    for alt, target in IMAGE.findall(markdown_file.read_text(encoding="utf-8")):
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            yield alt, target


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_every_setting_is_in_the_configuration_reference(name):
    reference = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert f"`{name}`" in reference, f"{name} is missing from docs/configuration.md"


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_the_configuration_reference_gives_each_settings_default_as_the_code_does(name):
    reference = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    row = re.search(rf"^\| `{name}` \| `([^`]*)`", reference, re.M)
    assert row, f"docs/configuration.md has no table row for {name} with its default first in backticks"
    assert ast.literal_eval(row.group(1)) == DEFAULTS[name], f"docs/configuration.md gives {name} another default"


@pytest.mark.parametrize("doc", ["README.md", "docs/index.md", "docs/configuration.md",
                                 "docs/operator-guide.md", "docs/architecture.md", "docs/course-team-guide.md",
                                 "docs/learner-guide.md"])
def test_every_linked_doc_exists(doc):
    source = ROOT / doc
    missing = [t for t in _local_links(source) if not (source.parent / t).exists()]
    assert not missing, f"{doc} links to missing files: {missing}"


def test_readme_links_docs():
    assert list(_local_links(ROOT / "README.md")), "README.md links no docs (the link pattern is broken?)"


def test_index_links_every_doc():
    index = ROOT / "docs" / "index.md"
    linked = {(index.parent / t).resolve() for t in _local_links(index)}
    docs = {p.resolve() for p in (ROOT / "docs").glob("*.md") if p.name != "index.md"}
    docs |= {p.resolve() for p in (ROOT / "docs" / "decisions").iterdir() if p.suffix in (".md", ".rst")}
    assert not docs - linked, f"docs/index.md does not link: {sorted(p.name for p in docs - linked)}"


@pytest.mark.parametrize("doc", sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md")))
def test_every_image_of_a_doc_is_a_small_png_with_alt_text(doc):
    source = ROOT / doc
    for alt, target in _local_images(source):
        image = source.parent / target
        assert alt.strip(), f"{doc}: the image {target} has no alt text"
        assert image.is_file(), f"{doc} shows a missing image: {target}"
        assert image.read_bytes()[:8] == PNG_SIGNATURE, f"{doc}: {target} is not a PNG"
        assert image.stat().st_size < MAX_IMAGE_BYTES, f"{doc}: {target} is over {MAX_IMAGE_BYTES // 1024} KB"


def test_the_guide_shows_every_screenshot_and_each_comes_from_the_browser_tests():
    """
    The course team guide's and the learner guide's pictures are taken by the browser walk
    (``docs_screenshot`` in tests/browser/, ``make docs-screenshots``): none is hand-made, none is
    left over.
    """
    files = sorted(GUIDE_IMAGES.iterdir())
    assert files, "docs/images/course-team/ is empty: run make docs-screenshots"
    shown = {(guide.parent / target).resolve() for guide in (GUIDE, LEARNER_GUIDE)
             for _alt, target in _local_images(guide)}
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests" / "browser").glob("*.py"))
    not_png = [f.name for f in files if f.suffix != ".png"]
    not_shown = [f.name for f in files if f.resolve() not in shown]
    not_produced = [f.name for f in files if f'"{f.stem}"' not in sources]
    assert not not_png, f"docs/images/course-team/ holds files that are not PNG screenshots: {not_png}"
    assert not not_shown, f"neither docs/course-team-guide.md nor docs/learner-guide.md shows: {not_shown}"
    assert not not_produced, f"no browser test (docs_screenshot) makes: {not_produced}; run make docs-screenshots"
