"""
Every page of the plugin, Studio's and the learner's, at a desktop width (1280 px) and a phone's
(390 px): nothing wider than the window (``document.scrollWidth <= innerWidth``, so there is no
horizontal scroll) and no serious accessibility violation (axe-core). Run on the demo's catalog and
events, so that the pages carry real content: stacks, progress, reports with figures.
"""

import json

import pytest

from .conftest import accessibility_violations, docs_screenshot, screenshot, sign_in
from .layout import overflow, widest_elements

pytestmark = pytest.mark.browser

COURSE = "course-v1:DemoX+PY101+2026"
WIDTHS = (1280, 390)


@pytest.fixture(scope="module")
def demo_site(site):
    site.manage("microcred_load", "sandbox/demo/catalog.yaml")
    site.manage("microcred_replay", "sandbox/demo/events.jsonl")
    return site


def check_page(page, url, name):
    """At every width: ``url`` answers, does not scroll sideways and has no serious accessibility violation."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        response = page.goto(url)
        assert response.status < 500, f"{url}: {response.status}"
        page.wait_for_load_state()
        assert overflow(page) == 0, f"{name} at {width} px scrolls sideways: {widest_elements(page)}"
        assert accessibility_violations(page) == {}, f"{name} at {width} px"
        screenshot(page, f"fits-{name}-{width}")


def studio_urls(page, cms):
    """The Studio pages of the demo course: the list, its forms, a preview and the confirmation pages."""
    course = f"{cms}/microcred/studio/course/{COURSE}/"
    page.goto(course)
    edit = page.get_by_role("link", name="Edit").first.get_attribute("href")
    preview = page.get_by_role("link", name="Preview").first.get_attribute("href")
    return {
        "studio-course": course,
        "studio-new-credential": f"{course}new/",
        "studio-new-stack": f"{course}new-stack/",
        "studio-edit": cms + edit,
        "studio-preview": cms + preview,
        "studio-publish-confirm": cms + edit.replace("/edit/", "/publish/"),
        "studio-archive-confirm": cms + edit.replace("/edit/", "/archive/"),
        "studio-report": f"{course}reports/",
        "studio-refused": f"{cms}/microcred/studio/course/course-v1:OtherX+ML101+2026/",
    }


def test_every_studio_page_fits_a_phone_and_a_desktop(demo_site, new_page):
    team = new_page()
    sign_in(team, demo_site.cms, "carol")
    for name, url in studio_urls(team, demo_site.cms).items():
        check_page(team, url, name)


def test_the_builder_with_many_rows_and_errors_fits_a_phone(demo_site, new_page):
    team = new_page()
    sign_in(team, demo_site.cms, "carol")
    team.set_viewport_size({"width": 390, "height": 900})
    team.goto(f"{demo_site.cms}/microcred/studio/course/{COURSE}/new/")
    team.get_by_label("Title").fill("Deep criteria")
    team.get_by_role("button", name="Combine with more requirements").click()
    team.get_by_role("button", name="Add a group").first.click()
    team.get_by_role("button", name="Add a group").last.click()
    team.get_by_label("Requirement type").last.select_option("course_grade")
    team.get_by_label("Minimum grade (%)").fill("a lot")
    team.get_by_role("button", name="Create credential").click()
    assert "must be a number from 0 to 100, not 'a lot'" in team.locator(".cb-node.has-error").inner_text()
    assert overflow(team) == 0, widest_elements(team)
    assert accessibility_violations(team) == {}
    screenshot(team, "fits-studio-builder-errors-390")
    docs_screenshot(team.locator("section.criteria-section"), "studio-criteria-builder-phone")


def test_every_learner_and_operator_page_fits_a_phone_and_a_desktop(demo_site, new_page):
    learner = new_page()
    sign_in(learner, demo_site.lms, "ada")
    learner.goto(f"{demo_site.lms}/microcred/api/v1/me/awards/")
    uuid = json.loads(learner.locator("body").inner_text())["awards"][0]["uuid"]
    check_page(learner, f"{demo_site.lms}/microcred/my/", "learner-my-credentials-ada")
    check_page(learner, f"{demo_site.lms}/microcred/credentials/{uuid}/", "learner-public-page")
    grace = new_page()
    sign_in(grace, demo_site.lms, "grace")
    check_page(grace, f"{demo_site.lms}/microcred/my/", "learner-my-credentials-grace")
    operator = new_page()
    sign_in(operator, demo_site.lms, "admin")
    check_page(operator, f"{demo_site.lms}/microcred/reports/", "operator-reports")
