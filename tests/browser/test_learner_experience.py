"""
The learner's side of issue 16, in a real browser at 1280 px and 390 px, with axe-core: badge images
everywhere (the default badge when none was uploaded), the public page with the holder's name and
grades by the learner's choice (a form that works without JavaScript) and a link preview, every EU
element, progress in the requirement's own measure, a revocation confirmed in the admin with a
reason and shown to the learner, and the demo's uptake report with real figures and whole labels.

It takes the learner guide's pictures (docs/learner-guide.md) with ``docs_screenshot``.
"""

import json
import re

import pytest
import requests

from .conftest import PHONE, accessibility_violations, docs_screenshot, no_horizontal_scroll, screenshot, sign_in

pytestmark = pytest.mark.browser

WIDTHS = ({"width": 1280, "height": 900}, PHONE)


@pytest.fixture(scope="module")
def site_env():
    return {"SANDBOX_REPORT_MIN_COHORT": "1"}  # what `make demo` sets (DEMO_MIN_COHORT)


@pytest.fixture(scope="module")
def demo_site(site):
    site.manage("microcred_load", "sandbox/demo/catalog.yaml")
    site.manage("microcred_replay", "sandbox/demo/events.jsonl")
    return site


def widget(page, lms):
    page.goto(f"{lms}/microcred/api/v1/me/dashboard-widget/")
    return json.loads(page.locator("body").inner_text())


def images_loaded(page, selector):
    """Every image matching ``selector`` is drawn (the browser decoded it), and there is at least one."""
    widths = page.locator(selector).evaluate_all("imgs => imgs.map(img => img.complete ? img.naturalWidth : 0)")
    return bool(widths) and all(width > 0 for width in widths)


def check_both_widths(page, name=None):
    """At both widths: the page does not scroll sideways and has no serious accessibility violation."""
    for viewport in WIDTHS:
        page.set_viewport_size(viewport)
        assert no_horizontal_scroll(page), f"{page.url} scrolls sideways at {viewport['width']} px"
        assert accessibility_violations(page) == {}, viewport
        screenshot(page, f"{name or 'page'}-{viewport['width']}")
    page.set_viewport_size(WIDTHS[0])


def test_progress_is_told_in_the_requirements_own_measure_with_default_badges(demo_site, new_page):
    grace = new_page()
    sign_in(grace, demo_site.lms, "grace")
    grace.goto(f"{demo_site.lms}/microcred/my/")
    card = grace.locator('li.progress-card[data-credential="data-analysis"]')
    assert card.get_by_text("(your grade 40 % — 70 % needed)").is_visible()
    assert card.get_by_text("(0 of 24 blocks done)").is_visible()
    assert images_loaded(grace, "img.badge-image")  # no badge was uploaded: each has its default badge
    docs_screenshot(card, "learner-progress")
    check_both_widths(grace, "learner-progress")
    data = widget(grace, demo_site.lms)
    assert all(b["image_url"] and "/default-" in b["image_url"] for b in data["badges"])
    step = next(s for s in data["progress"] if s["credential_slug"] == "data-analysis")["next_steps"][0]
    assert step["requirement"]["progress_text"] == "your grade 40 % — 70 % needed"


def test_the_learner_chooses_to_show_name_and_grade_without_javascript_and_a_link_previews(
        demo_site, browser, new_page):
    context = browser.new_context(viewport=WIDTHS[0], locale="en-US", java_script_enabled=False)
    try:
        ada = context.new_page()
        sign_in(ada, demo_site.lms, "ada")
        ada.goto(f"{demo_site.lms}/microcred/my/")
        form = ada.locator("form.sharing")
        assert not form.get_by_label("My name").is_checked()  # off until the learner turns it on
        form.get_by_label("My name").check()
        form.get_by_label("My grades").check()
        docs_screenshot(form, "learner-sharing-choices")
        form.get_by_role("button", name="Save my choices").click()
        ada.get_by_text("Your choices are saved").wait_for()
        assert ada.locator("form.sharing").get_by_label("My name").is_checked()
        data = widget(ada, demo_site.lms)
        assert data["sharing"] == {"show_name": True, "show_grade": True}
    finally:
        context.close()
    uuid = next(b["uuid"] for b in data["badges"] if b["credential_slug"] == "data-analysis")

    visitor = new_page()  # anyone with the link
    visitor.goto(f"{demo_site.lms}/microcred/credentials/{uuid}/")
    assert visitor.get_by_text("Held by Ada Lovelace").is_visible()
    assert visitor.locator("dd[data-grade]").inner_text() == "82%"
    for element, expected in (("eqf", "Level 5"), ("credits", "3.0"), ("workload", "75 hours"),
                              ("participation", "Online"), ("identity", "Not verified")):
        assert visitor.locator(f'dd[data-eu="{element}"]').inner_text() == expected
    assert "ESG 2015" in visitor.locator('dd[data-eu="quality-assurance"]').inner_text()
    assert visitor.locator('dd[data-eu="assessment"]').inner_text() == "project work"  # the demo's ELM term
    assert images_loaded(visitor, "header img.badge")
    preview = {name: visitor.locator(f'meta[property="{name}"], meta[name="{name}"]').get_attribute("content")
               for name in ("og:title", "og:description", "og:image", "og:url", "twitter:card", "twitter:image")}
    assert preview["og:title"] == "Ada Lovelace: Data Analysis with Python"
    assert preview["og:url"] == f"{demo_site.lms}/microcred/credentials/{uuid}/"
    assert preview["og:image"].startswith(demo_site.lms) and preview["twitter:card"] == "summary"
    image = requests.get(preview["og:image"], timeout=10)  # what a link previewer fetches
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    assert requests.get(preview["og:image"], timeout=10).content == image.content
    docs_screenshot(visitor, "learner-public-page-with-name")
    check_both_widths(visitor, "public-page-with-name")


def test_a_revocation_is_confirmed_with_a_reason_and_the_learner_sees_it(demo_site, new_page):
    operator = new_page()
    operator.goto(f"{demo_site.lms}/admin/login/")
    operator.get_by_label("Username").fill("admin")
    operator.get_by_label("Password").fill("admin")
    operator.get_by_role("button", name="Log in").click()
    operator.goto(f"{demo_site.lms}/admin/openedx_microcred/award/?q=linus")
    row = operator.locator("#result_list tbody tr", has_text="Bronze")
    change_page = row.locator("th a, td a").first.get_attribute("href")
    row.locator("input.action-select").check()
    operator.locator("select[name=action]").select_option("revoke")
    operator.get_by_role("button", name="Go").click()
    operator.get_by_role("heading", name="Revoke these awards?").wait_for()
    operator.get_by_label("Reason").fill("The final project was found to be copied.")
    check_both_widths(operator, "admin-revoke-confirmation")
    operator.get_by_role("button", name="Yes, revoke").click()
    operator.get_by_text("Revoked 1 award.").wait_for()
    operator.goto(f"{demo_site.lms}{change_page}")  # the award's title names the credential and the learner
    assert "Python Programmer — Bronze — linus (Revoked)" in operator.title()

    linus = new_page()
    sign_in(linus, demo_site.lms, "linus")
    linus.goto(f"{demo_site.lms}/microcred/my/")
    revoked = linus.locator('li.badge-card[data-state="revoked"][data-credential="python-bronze"]')
    assert revoked.get_by_text("Reason: The final project was found to be copied.").is_visible()
    assert revoked.get_by_role("link").count() == 0  # nothing to share
    assert linus.locator('li.progress-card[data-credential="python-bronze"]').count() == 0
    docs_screenshot(revoked, "learner-revoked-credential")
    check_both_widths(linus, "learner-revoked")
    data = widget(linus, demo_site.lms)
    assert "python-bronze" not in {b["credential_slug"] for b in data["badges"]}
    entry = next(r for r in data["revoked"] if r["credential_slug"] == "python-bronze")
    assert entry["reason"] == "The final project was found to be copied." and "linkedin" not in json.dumps(entry)

    visitor = new_page()
    visitor.goto(f"{demo_site.lms}/microcred/credentials/{entry['uuid']}/")
    assert visitor.get_by_role("heading", name="Not valid").is_visible()
    assert visitor.get_by_role("link", name="Add to LinkedIn profile").count() == 0
    assert visitor.locator('meta[property="og:image"]').count() == 0
    check_both_widths(visitor, "public-page-revoked")


def test_the_demos_uptake_report_shows_figures_with_whole_labels_and_studio_lists_show_badges(demo_site, new_page):
    team = new_page()
    sign_in(team, demo_site.cms, "carol")
    team.goto(f"{demo_site.cms}/microcred/studio/course/course-v1:DemoX+PY101+2026/")
    assert images_loaded(team, "img.badge-thumb")  # the default badges of the course's credentials
    team.goto(f"{demo_site.cms}/microcred/studio/course/course-v1:DemoX+PY101+2026/reports/")
    summary = team.locator("#summary-table")
    foundations = summary.locator('tr[data-credential="python-foundations"]').inner_text()
    assert re.search(r"\b3\b", foundations), foundations  # three demo learners, not "hidden"
    for viewport in WIDTHS:
        team.set_viewport_size(viewport)
        cut = team.evaluate("""() => [...document.querySelectorAll('.report-chart svg')].flatMap(svg => {
            const box = svg.viewBox.baseVal;
            return [...svg.querySelectorAll('text')].filter(t => {
                const b = t.getBBox();
                return b.x < box.x - 0.5 || b.x + b.width > box.x + box.width + 0.5;
            }).map(t => t.textContent);
        })""")
        assert cut == [], f"chart texts cut at {viewport['width']} px: {cut}"
        labels = team.evaluate("""() => [
            ...document.querySelectorAll('.report-chart svg g[data-figure] text:first-child')
        ].map(t => t.textContent)""")
        assert labels and not any(label.endswith("…") for label in labels), labels
        screenshot(team, f"uptake-report-{viewport['width']}")
    team.set_viewport_size(WIDTHS[0])
    assert accessibility_violations(team) == {}
