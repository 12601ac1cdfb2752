"""The docs cannot fall behind the code: every setting is documented, every linked doc exists."""

import re
from pathlib import Path

import pytest

from openedx_microcred.settings.common import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _local_links(markdown_file):
    for target in LINK.findall(markdown_file.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue  # http(s)://, mailto:, in-page anchors
        yield target.split("#", 1)[0]


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_every_setting_is_in_the_configuration_reference(name):
    reference = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert f"`{name}`" in reference, f"{name} is missing from docs/configuration.md"


@pytest.mark.parametrize("doc", ["README.md", "docs/index.md", "docs/configuration.md",
                                 "docs/operator-guide.md", "docs/architecture.md"])
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
