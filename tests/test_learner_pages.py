"""The learner's "My credentials" page and the view model behind it (api.get_learner_dashboard)."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test.html import parse_html
from django.utils import timezone

from openedx_microcred import api, backends
from openedx_microcred.issuer import lms_root_url
from openedx_microcred.models import Award, Delivery

from . import events
from .conftest import C1, C2, C3

PAGE = "/microcred/my/"
LMS = lms_root_url()


# --- A small reader of the rendered page ------------------------------------------------------------


def parse(response):
    assert response.status_code == 200, response.content[:500]
    return parse_html(response.content.decode())


def elements(node, name=None, **attrs):
    """Every element under ``node`` with tag ``name`` and these attributes (``data_x``: data-x, ``class_``: class)."""
    wanted = {key.rstrip("_").replace("_", "-"): value for key, value in attrs.items()}
    found = []
    for child in getattr(node, "children", ()):
        if isinstance(child, str):
            continue
        have = dict(child.attributes)
        if (name is None or child.name == name) and all(have.get(k) == v for k, v in wanted.items()):
            found.append(child)
        found.extend(elements(child, name, **attrs))
    return found


def one(node, name=None, **attrs):
    found = elements(node, name, **attrs)
    assert len(found) == 1, f"{len(found)} <{name} {attrs}> elements"
    return found[0]


def text(node):
    if isinstance(node, str):
        return node
    return " ".join(text(child) for child in node.children)


def links(node):
    return {text(a).strip(): dict(a.attributes)["href"] for a in elements(node, "a")}


def card(page, slug):
    """The progress card of one credential or stack."""
    return one(page, "li", class_="progress-card", data_credential=slug)


def badge(page, slug):
    return one(page, "li", class_="badge-card", data_credential=slug)


# --- The catalog: course credentials, a horizontal stack and a vertical ladder -------------------------


@pytest.fixture
def ada_passed_c1(catalog, learner, on_commit):
    """Ada passes Python Foundations: she holds 'foundations' and 'bronze'."""
    with on_commit():
        events.passing(learner, C1)
    return learner


def signed_in(client, user):
    client.force_login(user)
    return client


# --- The page ---------------------------------------------------------------------------------------


def test_the_page_needs_a_signed_in_learner(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={PAGE}"


def test_earned_badges_with_their_share_links(client, ada_passed_c1):
    award = Award.objects.get(user=ada_passed_c1, credential__slug="foundations")
    page = parse(signed_in(client, ada_passed_c1).get(PAGE))

    assert "(2)" in text(one(page, "h2", id="badges-heading"))
    found = badge(page, "foundations")
    assert "Foundations Badge" in text(one(found, "h3"))
    image = dict(one(found, "img").attributes)
    assert image["src"] == f"{LMS}/microcred/badges/{award.credential.uuid}/foundations.png" and image["alt"] == ""
    actions = links(one(found, "ul", class_="share-actions"))
    assert actions["Public page"] == f"{LMS}/microcred/credentials/{award.uuid}/"
    assert actions["Download (Open Badges 3.0 JSON)"] == f"{LMS}/microcred/credentials/{award.uuid}.json?download=1"
    linkedin = urlsplit(actions["Add to LinkedIn profile"])
    query = parse_qs(linkedin.query)
    assert (linkedin.netloc, linkedin.path) == ("www.linkedin.com", "/profile/add")
    assert query["name"] == ["Foundations Badge"]
    assert query["certUrl"] == [f"{LMS}/microcred/credentials/{award.uuid}/"]
    assert query["certId"] == [str(award.uuid)]
    # The links work: the public page, and the download as an attachment.
    assert client.get(f"/microcred/credentials/{award.uuid}/").status_code == 200
    download = client.get(f"/microcred/credentials/{award.uuid}.json?download=1")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]


def test_a_badge_says_when_it_expires_or_expired(client, ada_passed_c1):
    now = timezone.now()
    Award.objects.filter(user=ada_passed_c1, credential__slug="foundations").update(expires_at=now + timedelta(days=30))
    Award.objects.filter(user=ada_passed_c1, credential__slug="bronze").update(expires_at=now - timedelta(days=1))
    page = parse(signed_in(client, ada_passed_c1).get(PAGE))
    assert "Expires" in text(badge(page, "foundations")) and "Expired" not in text(badge(page, "foundations"))
    assert "Expired" in text(badge(page, "bronze"))


def test_the_linkedin_link_is_the_same_on_the_public_page_and_the_learner_page(client, ada_passed_c1):
    award = Award.objects.get(user=ada_passed_c1, credential__slug="foundations")
    public = parse(client.get(f"/microcred/credentials/{award.uuid}/"))
    on_public_page = links(public)["Add to LinkedIn profile"]
    mine = links(badge(parse(signed_in(client, ada_passed_c1).get(PAGE)), "foundations"))
    assert mine["Add to LinkedIn profile"] == on_public_page
    # The issuer named is the one in the signed credential.
    assert parse_qs(urlsplit(on_public_page).query)["organizationName"] == [award.document["issuer"]["name"]]


def test_a_badge_delivered_to_a_platform_links_to_it_there(client, ada_passed_c1, settings):
    settings.MICROCRED_PLATFORM_ACCOUNTS = {
        "credly": {"backend": "credly", "base_url": "https://sandbox-api.credly.com/v1/",
                   "organization_id": "org", "token": "secret-token", "organizations": ["DemoX"]},
        "obf": {"backend": "obf", "client_id": "c", "client_secret": "s", "organizations": ["DemoX"]},
    }
    award = Award.objects.get(user=ada_passed_c1, credential__slug="foundations")
    now = timezone.now()
    Delivery.objects.create(award=award, account="credly", platform="credly", state=Delivery.State.DELIVERED,
                            external_id="93d1c6e5-badge", next_attempt_at=now)
    Delivery.objects.create(award=award, account="obf", platform="obf", state=Delivery.State.FAILED,
                            external_id="", next_attempt_at=now)
    page = parse(signed_in(client, ada_passed_c1).get(PAGE))
    actions = links(badge(page, "foundations"))
    assert actions["View on Credly"] == "https://sandbox.credly.com/badges/93d1c6e5-badge"
    assert not any("Open Badge Factory" in label for label in actions)
    assert "secret-token" not in text(page)
    (dashboard_badge,) = [b for b in api.get_learner_dashboard(ada_passed_c1).badges
                          if b.credential_slug == "foundations"]
    assert [(link.account, link.label, link.url) for link in dashboard_badge.platform_links] == [
        ("credly", "Credly", "https://sandbox.credly.com/badges/93d1c6e5-badge")]


def test_stacks_show_their_progress_as_a_bar_and_as_text(client, ada_passed_c1):
    page = parse(signed_in(client, ada_passed_c1).get(PAGE))
    starter = card(page, "starter")  # at least 2 of 3: one held, the others not started
    assert dict(starter.attributes)["data-percent"] == "50"
    progress = dict(one(starter, "progress").attributes)
    assert (progress["value"], progress["max"]) == ("50", "100")
    assert progress["aria-labelledby"] == "credential-title-starter"
    assert text(one(starter, "span", id=progress["aria-describedby"])).strip() == "50 %"
    assert "Starter Stack" in text(one(starter, "h3", id="credential-title-starter"))

    silver = card(page, "silver")  # all of bronze (held), analysis, ml: one of three
    assert text(one(silver, "span", class_="percent")).strip() == "33 %"
    levels = elements(one(silver, "ol", class_="levels"), "li")
    assert [dict(level.attributes)["data-level"] for level in levels] == ["bronze", "silver"]
    assert "Earned" in text(levels[0]) and "33 %" in text(levels[1])
    assert dict(levels[1].attributes).get("aria-current") == "step"


def test_stacks_in_progress_come_first_most_advanced_first(catalog, learner, on_commit):
    with on_commit():
        events.passing(learner, C1, time=events.at(1))
        events.grade(learner.pk, C2, 0.4, time=events.at(2))  # analysis at 50 %
        events.enrollment(learner, C3, time=events.at(3))  # ml on the page, at 0 %
    dashboard = api.get_learner_dashboard(learner)
    order = [(s.credential_slug, s.percent, s.earned) for s in dashboard.progress]
    # The share of the requirements met (catalog-format.md, "Progress"): a grade at 50 % of its
    # minimum counts nothing until it is met (the requirement itself says how close it is).
    assert order == [
        ("starter", 50, False),  # 1 of 2
        ("silver", 33, False),  # 1 of 3
        ("analysis", 0, False),
        ("ml", 0, False),
        ("bronze", 100, True),
        ("foundations", 100, True),
    ]


def test_what_is_missing_links_to_the_courses(client, catalog, learner, on_commit):
    with on_commit():
        events.grade(learner.pk, C2, 0.6, time=events.at(1))
        events.enrollment(learner, C3, time=events.at(2))
    page = parse(signed_in(client, learner).get(PAGE))

    analysis = card(page, "analysis")
    assert text(one(analysis, "span", class_="percent")).strip() == "0 %"  # 0 of 1 requirements met
    assert "(your grade 60 % — 80 % needed)" in text(analysis)  # the grade requirement says how close it is
    missing = one(analysis, "ul", class_="next-steps")
    assert links(missing) == {"Reach a grade of at least 80 % in Data Analysis with Python":
                              f"{LMS}/courses/{C2}/"}
    assert "(your grade 60 % — 80 % needed)" in text(missing)

    ml = card(page, "ml")
    assert links(one(ml, "ul", class_="next-steps")) == {
        "Earn a verified certificate in Machine Learning Basics": f"{LMS}/courses/{C3}/"}
    # The stand-in course page of the demo host answers with the course's name.
    assert "Data Analysis with Python" in client.get(f"/courses/{C2}/").content.decode()


def test_a_choice_says_how_many_more_and_links_to_the_credentials_in_progress(client, catalog, learner, on_commit):
    with on_commit():
        events.passing(learner, C1, time=events.at(1))
        events.grade(learner.pk, C2, 0.6, time=events.at(2))
    page = parse(signed_in(client, learner).get(PAGE))
    step = one(one(card(page, "starter"), "ul", class_="next-steps"), "li", class_="next-step")
    assert text(step).split()[:3] == ["One", "more", "of:"]
    # A required credential in progress links to its card; one not started (no card) to its course.
    assert links(step) == {"Earn Analysis Badge": "#credential-analysis", "Earn ML Badge": f"{LMS}/courses/{C3}/"}

    starter = next(s for s in api.get_learner_dashboard(learner).progress if s.credential_slug == "starter")
    (choice,) = starter.next_steps
    assert choice.needed == 1 and choice.requirement is None
    assert [o.requirement.credential_slug for o in choice.options] == ["analysis", "ml"]
    ml = choice.options[1].requirement
    assert (ml.course_key, ml.course_name, ml.credential_title) == (C3, "Machine Learning Basics", "ML Badge")
    assert [c.credential_slug for c in starter.children] == ["foundations", "analysis", "ml"]


def test_a_learner_never_sees_another_learners_credentials(client, ada_passed_c1, grace, on_commit):
    with on_commit():
        events.grade(grace.pk, C2, 0.95)  # grace holds 'analysis', ada does not
    grace_award = Award.objects.get(user=grace)
    ada_page = signed_in(client, ada_passed_c1).get(PAGE).content.decode()
    assert str(grace_award.uuid) not in ada_page
    assert 'data-credential="analysis"' not in ada_page.split('id="progress-heading"')[0]  # not among her badges

    grace_page = parse(signed_in(client, grace).get(PAGE))
    assert [dict(b.attributes)["data-credential"] for b in elements(grace_page, "li", class_="badge-card")] == [
        "analysis"]
    html = text(grace_page)
    for award in Award.objects.filter(user=ada_passed_c1):
        assert str(award.uuid) not in html
    assert "Signed in as grace" in html


def test_empty_states(client, catalog, learner):
    page = parse(signed_in(client, learner).get(PAGE))
    assert elements(page, "li", class_="badge-card") == []
    assert elements(page, "li", class_="progress-card") == []
    assert "You have not earned a badge yet" in text(page)
    assert "You are not on the way to any credential yet" in text(page)


def test_nothing_in_progress_once_everything_started_is_earned(client, make_credential, grace, on_commit):
    make_credential("solo", {"type": "course_passed", "course": C1})
    with on_commit():
        events.passing(grace, C1)
    page = parse(signed_in(client, grace).get(PAGE))
    assert len(elements(page, "li", class_="badge-card")) == 1
    assert elements(page, "li", class_="progress-card") == []
    assert "Nothing in progress" in text(page)


def test_the_dashboard_reads_a_bounded_number_of_queries(catalog, learner, on_commit, django_assert_max_num_queries):
    with on_commit():
        events.passing(learner, C1, time=events.at(1))
        events.grade(learner.pk, C2, 0.95, time=events.at(2))
        events.certificate(learner, C3, time=events.at(3))
    assert Award.objects.filter(user=learner).count() == 6
    # 10: awards, progress, revoked awards, credentials, stack levels, signed names, deliveries,
    # sharing choices, and the user and course names.
    with django_assert_max_num_queries(10):
        dashboard = api.get_learner_dashboard(learner)
    assert dashboard.badges_count == 6 and all(s.earned for s in dashboard.progress)


def test_the_demo_index_links_to_my_credentials(client, db):
    assert f'href="{PAGE}"' in client.get("/").content.decode()
    assert client.get("/courses/course-v1:Nope+X+Y/").status_code == 404
    assert client.get("/courses/not-a-key/").status_code == 404


@pytest.mark.parametrize("platform, config, expected", [
    ("credly", {"base_url": "https://api.credly.com/v1/"}, "https://www.credly.com/badges/b-1"),
    ("credly", {}, "https://www.credly.com/badges/b-1"),
    ("credly", {"base_url": "https://sandbox-api.credly.com/v1/"}, "https://sandbox.credly.com/badges/b-1"),
    ("accredible", {"base_url": "https://eu.api.accredible.com/"}, "https://www.credential.net/b-1"),
    ("accredible", {"base_url": "https://sandbox.api.accredible.com/"}, None),
    ("badgr", {"base_url": "https://api.eu.badgr.io"}, "https://api.eu.badgr.io/public/assertions/b-1"),
    ("obf", {}, None),
    ("obf", {"badge_url": "https://openbadgepassport.com/app/badge/info/{external_id}"},
     "https://openbadgepassport.com/app/badge/info/b-1"),
])
def test_where_a_delivered_badge_lives_on_each_platform(platform, config, expected):
    assert backends.platform_badge_url(platform, config, "b-1") == expected


def test_platform_badge_ids_are_escaped_in_urls():
    assert backends.platform_badge_url("credly", {}, "a/../b?c") == "https://www.credly.com/badges/a%2F..%2Fb%3Fc"
