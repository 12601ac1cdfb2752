"""The public page of an award, as a verifier opens it: readable, verified, accessible."""

import json
from pathlib import Path

import pytest

from .conftest import accessibility_violations, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_site(site):
    site.manage("microcred_load", "sandbox/demo/catalog.yaml")
    site.manage("microcred_replay", "sandbox/demo/events.jsonl")
    return site


def _award_uuid(page, lms, slug):
    page.goto(f"{lms}/microcred/api/v1/me/awards/")
    awards = json.loads(page.locator("body").inner_text())["awards"]
    return next(a["uuid"] for a in awards if a["credential_slug"] == slug)


def test_a_verifier_sees_a_verified_credential_and_can_download_it(demo_site, new_page):
    learner = new_page()
    sign_in(learner, demo_site.lms, "ada")
    uuid = _award_uuid(learner, demo_site.lms, "python-gold")

    verifier = new_page()  # not signed in: the page is public
    verifier.goto(f"{demo_site.lms}/microcred/credentials/{uuid}/")
    assert verifier.get_by_role("heading", level=1).inner_text() == "Python Programmer — Gold"
    assert verifier.get_by_role("heading", name="Verified").is_visible()
    screenshot(verifier, "public-credential-page")
    assert accessibility_violations(verifier) == {}

    with verifier.expect_download() as download:
        verifier.get_by_role("link", name="Download").first.click()
    document = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert document["id"] == f"{demo_site.lms}/microcred/credentials/{uuid}/"
    assert document["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
