"""
The uptake report pages (report_views.py) on the seeded data set (conftest.py): who may read them,
every figure on the LMS and Studio pages, that no suppressed number reaches them, and that every
word is translatable.
"""

import os
import re
import shutil

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.http import urlencode
from lxml import html

from ..conftest import C1, C2, C3
from ..i18n import PACKAGE, PSEUDO, assert_translated, pseudo_catalog, read_po, use_pseudo_language, write_mo
from ..users import client_for, make_user
from .conftest import EXPECTED, EXPECTED_CONVERSIONS, HIDDEN_VALUES, LMS_REPORT, H, expected_csv_rows, read_csv

# --- Who may read them ---------------------------------------------------------------------------------


def studio_report(course_key):
    return f"/microcred/studio/course/{course_key}/reports/"


@pytest.fixture
def studio(settings):
    settings.ROOT_URLCONF = "sandbox.cms_urls"


def test_lms_report_needs_sign_in(seed):
    response = client_for().get(LMS_REPORT)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("roles", [(), (("DemoX", C1, "staff"),), (("DemoX", C1, "instructor"),)])
def test_lms_report_is_not_for_learners_or_course_teams(seed, roles):
    response = client_for(make_user("someone", *roles)).get(LMS_REPORT)
    assert response.status_code == 403
    assert "Studio" in response.content.decode()
    assert client_for(make_user("other", *roles)).get(LMS_REPORT + "?format=csv").status_code == 403


def test_lms_report_for_an_organizations_staff_covers_its_organization(seed):
    client = client_for(make_user("orgstaff", ("DemoX", None, "staff")))
    page = client.get(LMS_REPORT)
    assert page.status_code == 200
    assert sorted(_credential_rows(page)) == ["bronze", "gold", "silver"]
    assert client.get(LMS_REPORT + "?org=OtherX").status_code == 400  # not a choice they have
    assert client.get(LMS_REPORT + "?org=DemoX").status_code == 200


def test_lms_report_for_global_staff_covers_everything(seed):
    client = client_for(make_user("admin", is_staff=True))
    assert sorted(_credential_rows(client.get(LMS_REPORT))) == ["bronze", "gold", "ml", "silver"]
    assert _credential_rows(client.get(LMS_REPORT + "?org=OtherX")) == ["ml"]
    assert _credential_rows(client.get(LMS_REPORT + "?" + urlencode({"course": C3}))) == ["gold"]


def test_studio_report_needs_sign_in(seed, studio):
    response = client_for().get(studio_report(C1))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_studio_report_is_for_the_course_team(seed, studio):
    assert client_for(make_user("learner")).get(studio_report(C1)).status_code == 403
    other = client_for(make_user("other", ("DemoX", C2, "staff")))
    assert other.get(studio_report(C1)).status_code == 403
    assert other.get(studio_report(C1) + "?format=csv").status_code == 403
    assert other.get(studio_report("not-a-course")).status_code == 400
    team = client_for(make_user("team", ("DemoX", C1, "instructor")))
    assert sorted(_credential_rows(team.get(studio_report(C1)))) == ["bronze", "gold", "silver"]
    assert _credential_rows(other.get(studio_report(C2))) == ["gold", "silver"]


def test_studio_course_page_links_to_its_report(seed, studio):
    team = client_for(make_user("team", ("DemoX", C1, "staff")))
    page = html.fromstring(team.get(f"/microcred/studio/course/{C1}/").content)
    assert page.xpath(f'//a[@href="{studio_report(C1)}"]')


@pytest.mark.parametrize("query", ["start=2026-13-01", "start=2026-03-02&end=2026-03-01", "course=nope"])
def test_invalid_filters_are_explained(seed, query):
    response = client_for(make_user("admin", is_staff=True)).get(f"{LMS_REPORT}?{query}")
    assert response.status_code == 400
    page = html.fromstring(response.content)
    assert page.xpath('//*[contains(@class, "field-error")]')
    assert not page.xpath("//*[@data-figure]")


# --- The pages -----------------------------------------------------------------------------------------


def _credential_rows(response):
    assert response.status_code == 200, response.content[:300]
    return html.fromstring(response.content).xpath('//table[@id="summary-table"]/tbody/tr/@data-credential')


def _text(value, unit="count"):
    """How the report page shows ``value`` in ``unit``."""
    if value is H:
        return "hidden"
    if value is None:
        return "—"
    if unit == "days":
        return f"{value:.1f} days"
    if unit == "percent":
        return f"{value:.1f} %"
    return str(value)


def expected_page_figures(expected=None, expected_conversions=None):
    """data-figure → text, for the tables of the page (the figures EXPECTED and EXPECTED_CONVERSIONS by default)."""
    expected = EXPECTED if expected is None else expected
    expected_conversions = EXPECTED_CONVERSIONS if expected_conversions is None else expected_conversions
    shown = {}
    for slug, f in expected.items():
        for name in ("enrolled", "not_started", "progressing", "earned", "revoked"):
            shown[f"{slug}:{name}"] = _text(f[name])
        shown[f"{slug}:median_days_to_earn"] = _text(f["median_days"], "days")
        for path, value in f["stuck"]:
            shown[f"{slug}:missing:{path}"] = _text(value)
        for platform, (delivered, accepted) in f["deliveries"].items():
            shown[f"{slug}:delivered:{platform}"] = _text(delivered)
            shown[f"{slug}:accepted:{platform}"] = _text(accepted)
    for low, up, _vertical, base, converted, rate in expected_conversions:
        shown[f"{low}>{up}:earned_from"] = _text(base)
        shown[f"{low}>{up}:converted"] = _text(converted)
        shown[f"{low}>{up}:rate"] = _text(rate, "percent")
    return shown


def test_the_page_shows_every_figure(operator_page):
    cells = operator_page.xpath("//td[@data-figure]")
    got = {cell.get("data-figure"): cell.text_content().strip() for cell in cells}
    assert got == expected_page_figures()
    for cell in cells:
        assert ("suppressed" in (cell.get("class") or "")) == (cell.text_content().strip() == "hidden")
    assert operator_page.xpath('//table[@id="summary-table"]/caption')
    assert operator_page.xpath('//table[@id="conversions-table"]/caption')
    assert "fewer than 10 learners" in operator_page.xpath('string(//p[@id="privacy-note"])')
    # Stuck requirements: the most missed first, a hidden one last.
    gold = operator_page.xpath('//section[@data-credential="gold"]//table[@class="stuck"]//td/@data-figure')
    assert gold == ["gold:missing:criteria.of[0]", "gold:missing:criteria.of[1]"]


def test_no_suppressed_number_is_rendered_anywhere(operator_page):
    """Not in a table cell, a chart's text or its description, nor as a bar's length."""
    texts = [t.text_content() for t in operator_page.xpath("//td | //svg//text | //svg/desc")]
    numbers = {n for text in texts for n in re.findall(r"\d+(?:\.\d+)?", text)}
    assert numbers and not numbers & HIDDEN_VALUES, numbers & HIDDEN_VALUES
    for g in operator_page.xpath("//svg/g"):
        if g.xpath("string(./text[2])") == "hidden":
            assert not g.xpath('./rect[@class="bar"]')


def test_studio_report_page_and_csv(seed, studio):
    team = client_for(make_user("team", ("DemoX", C2, "staff")))
    response = team.get(studio_report(C2))
    page = html.fromstring(response.content)
    got = {cell.get("data-figure"): cell.text_content().strip() for cell in page.xpath("//td[@data-figure]")}
    expected = expected_page_figures({s: EXPECTED[s] for s in ("gold", "silver")}, EXPECTED_CONVERSIONS[1:])
    assert got == expected
    assert page.xpath('//a[@href="/microcred/studio/course/' + C2 + '/"]')  # back to the course's credentials
    assert not page.xpath('//select[@name="org"]') and page.xpath('//input[@name="start"][@type="date"]')
    csv_link = page.xpath('//a[contains(@href, "format=csv")]/@href')[0]
    rows = read_csv(team.get(csv_link))
    assert rows == expected_csv_rows(order=("gold", "silver"), expected_conversions=EXPECTED_CONVERSIONS[1:])
    period = team.get(studio_report(C2) + "?start=2026-02-01&end=2026-03-31&format=csv")
    assert ["DemoX", C3, "gold", "Gold", "earned", "", "0", "false", "10"] in read_csv(period)


# --- Every word is translatable ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh_pseudo_locale(tmp_path_factory):
    """
    A pseudo-translation (tests/test_i18n.py) of what the code marks *now*: extracted afresh, so
    that this checks the marking of the report pages whatever the state of the committed catalog
    (test_i18n checks that the catalog is up to date).
    """
    if shutil.which("xgettext") is None or shutil.which("msguniq") is None:
        pytest.skip("GNU gettext is not installed: cannot extract the strings")
    root = tmp_path_factory.mktemp("report-i18n")
    copy = root / "openedx_microcred"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.po", "*.mo"))
    (copy / "conf" / "locale").mkdir(parents=True, exist_ok=True)
    here = os.getcwd()
    os.chdir(copy)
    try:
        call_command("makemessages", locale=["en"], domain="django", no_wrap=True, no_obsolete=True, verbosity=0)
    finally:
        os.chdir(here)
    target = root / "locale" / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True)
    write_mo(pseudo_catalog(read_po(copy / "conf" / "locale" / "en" / "LC_MESSAGES" / "django.po")),
             target / "django.mo")
    return root / "locale"


@pytest.fixture
def in_pseudo(settings, fresh_pseudo_locale):
    use_pseudo_language(settings, fresh_pseudo_locale)
    yield
    translation.deactivate()


def test_the_report_pages_are_translatable(seed, in_pseudo, settings):
    def get(client, url):
        return client.get(url, HTTP_ACCEPT_LANGUAGE=PSEUDO)

    # Data the pages show as they are: requirement words come from the catalog, the rest is data.
    admin = client_for(make_user("admin", is_staff=True))
    tree = assert_translated(get(admin, LMS_REPORT))
    assert tree.xpath("//svg/title")[0].text != "Uptake of Bronze"  # the charts' words are translated too
    assert_translated(get(admin, LMS_REPORT + "?start=2026-02-01&end=2026-01-01"))
    assert_translated(get(client_for(make_user("learner")), LMS_REPORT))
    settings.ROOT_URLCONF = "sandbox.cms_urls"
    team = client_for(make_user("team", ("DemoX", C2, "staff")))
    assert_translated(get(team, studio_report(C2)))
    assert_translated(get(team, studio_report(C1)))  # 403
    assert_translated(get(team, f"/microcred/studio/course/{C2}/"))
