"""
What a learner shares and how a credential's state shows: the holder's name and grades only by the
learner's choice (page form and API), link-preview meta, the EU elements, no share action for a
revoked or hidden credential, a revoked credential shown as revoked with its reason, and progress in
the requirement's own measure.
"""

import re

import pytest
from django.contrib.auth import get_user_model

from openedx_microcred import api, awards, issuance, links, retirement
from openedx_microcred.models import Award, LearnerFact, LearnerSharing, Progress
from sandbox.host.models import Course

from . import events
from .conftest import C1, C2

MY = "/microcred/my/"
SHARING_API = "/microcred/api/v1/me/sharing/"
WIDGET = "/microcred/api/v1/me/dashboard-widget/"


@pytest.fixture
def awarded(db, make_credential, learner, on_commit, settings, tmp_path):
    """Ada Lovelace's signed award of "Graded Badge" (85 % in C1), a credential with its EU details."""
    settings.MEDIA_ROOT = tmp_path
    learner.first_name, learner.last_name = "Ada", "Lovelace"
    learner.save()
    Course.objects.create(course_key=C1, display_name="Python Foundations", completable_blocks=30)
    make_credential("graded", {"type": "course_grade", "course": C1, "min_percent": 70}, title="Graded Badge",
                    course_key=C1, eqf_level=4, workload_hours=30, ects_credits=1,
                    assessment_type="written-examination", participation_form="online",
                    quality_assurance="Internal review by the faculty board",
                    identity_verified=True, learning_outcomes=["Write small programs"])
    with on_commit():
        events.grade(learner.pk, C1, 0.85)
    award = Award.objects.get(user=learner)
    issuance.issue_award(award.pk)
    award.refresh_from_db()
    return award


def page(client, award):
    response = client.get(f"/microcred/credentials/{award.uuid}/")
    assert response.status_code == 200
    return response.content.decode()


def meta(html, name):
    found = re.search(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)"', html)
    return found.group(1) if found else None


def test_the_holders_name_and_grade_are_off_until_the_learner_turns_them_on(client, awarded, learner):
    html = page(client, awarded)
    assert "Ada Lovelace" not in html and "data-grade" not in html and "85%" not in html
    client.force_login(learner)
    response = client.post("/microcred/my/sharing/", {"show_name": "1"})
    assert response.status_code == 302
    client.logout()
    html = page(client, awarded)
    assert "Held by Ada Lovelace" in html and "85%" not in html
    assert meta(html, "og:title") == "Ada Lovelace: Graded Badge"
    client.force_login(learner)
    client.post("/microcred/my/sharing/", {"show_name": "1", "show_grade": "on"})
    client.logout()
    assert '<dd data-grade>85%</dd>' in page(client, awarded)
    client.force_login(learner)
    client.post("/microcred/my/sharing/", {})  # both boxes unticked: both off again
    assert api.get_sharing(learner) == api.get_sharing(learner.pk)
    assert not api.get_sharing(learner).show_name and not api.get_sharing(learner).show_grade


def test_a_bad_sharing_form_is_a_400_that_changes_nothing(client, awarded, learner):
    client.force_login(learner)
    api.set_sharing(learner, show_name=True)
    for data in ({"show_name": "maybe"}, {"show_grade": ["1", "0"]}):
        response = client.post("/microcred/my/sharing/", data)
        assert response.status_code == 400 and b"checkbox value" in response.content
    assert api.get_sharing(learner).show_name is True
    assert client.get("/microcred/my/sharing/").status_code == 405


def test_the_sharing_api_reads_and_validates_the_choices(client, awarded, learner):
    assert client.get(SHARING_API).status_code in (401, 403)
    client.force_login(learner)
    assert client.get(SHARING_API).json() == {"show_name": False, "show_grade": False}
    response = client.put(SHARING_API, {"show_grade": True}, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"show_name": False, "show_grade": True}
    for body in ({"show_name": "perhaps"}, {"show_name": True, "colour": "red"}, ["show_name"]):
        bad = client.put(SHARING_API, body, content_type="application/json")
        assert bad.status_code == 400, body
    assert client.get(SHARING_API).json() == {"show_name": False, "show_grade": True}
    assert client.get(WIDGET).json()["sharing"] == {"show_name": False, "show_grade": True}


def test_a_shared_link_previews_with_an_absolute_image(client, awarded):
    html = page(client, awarded)
    assert meta(html, "og:title") == "Graded Badge"
    assert meta(html, "og:url") == links.credential_url(awarded.uuid)
    assert meta(html, "og:description").startswith("Graded Badge, issued by ")
    image = meta(html, "og:image")
    assert image == issuance.badge_png_url(awarded.credential) and image.startswith("http")
    assert meta(html, "twitter:card") == "summary" and meta(html, "twitter:image") == image
    assert client.get(image.split("8000", 1)[1]).status_code == 200


def test_every_eu_element_the_credential_carries_is_on_its_page(client, awarded):
    html = page(client, awarded)
    found = dict(re.findall(r'<dd data-eu="([a-z-]+)">(.*?)</dd>', html))
    assert "Level 4" in found["eqf"] and "http://data.europa.eu/snb/eqf/4" in found["eqf"]
    assert found["credits"] == "1.0" and found["workload"] == "30 hours"
    assert found["assessment"] == "written examination" and found["participation"] == "Online"
    assert found["quality-assurance"] == "Internal review by the faculty board"
    assert found["identity"] == "Verified by the issuer"


def test_a_revoked_credential_offers_no_share_action_anywhere(client, awarded, learner):
    awards.revoke_awards([awarded.pk], "Plagiarism in the final project", source=Award.RevocationSource.OPERATOR)
    html = page(client, awarded)
    assert "linkedin.com" not in html and "og:image" not in html and "Share and download" not in html
    assert "This credential has been revoked by its issuer." in html
    client.force_login(learner)
    mine = client.get(MY).content.decode()
    assert "linkedin.com" not in mine and 'data-state="revoked"' in mine
    assert "Reason: Plagiarism in the final project" in mine
    assert 'class="progress-card"' not in mine  # not "in progress 100 %"
    widget = client.get(WIDGET).json()
    assert widget["badges"] == [] and widget["progress"] == []
    assert widget["revoked"][0]["reason"] == "Plagiarism in the final project"
    assert widget["revoked"][0]["can_earn_again"] is False and "linkedin" not in str(widget)


def test_a_credential_revoked_by_its_criteria_says_so_and_stays_in_progress(client, awarded, learner):
    awards.revoke_awards([awarded.pk], "criteria no longer met: criteria")
    Progress.objects.filter(user=learner).update(fraction=0.5, met=False)
    client.force_login(learner)
    widget = client.get(WIDGET).json()
    assert widget["revoked"][0]["reason"] == "Its requirements are no longer met."
    assert widget["revoked"][0]["can_earn_again"] is True
    assert [p["credential_slug"] for p in widget["progress"]] == ["graded"]


def test_a_hidden_credential_offers_no_share_action(client, awarded, learner):
    client.force_login(learner)
    client.post(f"/microcred/my/credentials/{awarded.uuid}/visibility/", {"hidden": "1"})
    mine = client.get(MY).content.decode()
    assert "linkedin.com" not in mine and "Public page</a>" not in mine
    badge = client.get(WIDGET).json()["badges"][0]
    assert badge["hidden"] is True and badge["linkedin_url"] is None
    own = page(client, awarded)  # the holder still sees it, to download, not to share
    assert "linkedin.com" not in own and "og:title" not in own and "download=1" in own


def test_progress_says_the_grade_now_and_the_grade_needed(client, db, make_credential, learner, on_commit):
    Course.objects.create(course_key=C2, display_name="Data Analysis", completable_blocks=30)
    make_credential("both", {"type": "all", "of": [
        {"type": "course_grade", "course": C2, "min_percent": 80},
        {"type": "course_completion", "course": C2, "min_percent": 80}]}, title="Both")
    with on_commit():
        events.grade(learner.pk, C2, 0.76)
    LearnerFact.objects.create(user=learner, course_key=C2, kind="completion", value={"completed_blocks": 12},
                               event_id="c-1", event_type="completion", event_time=events.at(3))
    api.evaluate_learner(learner.pk)
    steps = api.get_learner_dashboard(learner).progress[0].next_steps
    grade, completion = (step.requirement for step in steps)
    assert grade.progress_text == "your grade 76 % — 80 % needed" and grade.current_percent == 76
    assert completion.progress_text == "12 of 24 blocks done"
    assert (completion.blocks_done, completion.blocks_needed, completion.blocks_total) == (12, 24, 30)
    client.force_login(learner)
    html = client.get(MY).content.decode()
    assert "(your grade 76 % — 80 % needed)" in html and "(12 of 24 blocks done)" in html
    step = client.get(WIDGET).json()["progress"][0]["next_steps"][0]["requirement"]
    assert step["progress_text"] == "your grade 76 % — 80 % needed"


def test_retiring_a_learner_forgets_their_sharing_choices(awarded, learner):
    api.set_sharing(learner, show_name=True)
    retirement.retire_learner(get_user_model().objects.get(pk=learner.pk))
    assert not LearnerSharing.objects.filter(user_id=learner.pk).exists()


def test_a_stack_shows_a_revoked_part_as_revoked_not_as_a_percentage(client, db, make_credential, learner, on_commit):
    make_credential("part", {"type": "course_passed", "course": C1}, title="Part")
    make_credential("other", {"type": "course_passed", "course": C2}, title="Other")
    make_credential("stack", {"type": "all", "of": [{"type": "credential", "credential": "part"},
                                                    {"type": "credential", "credential": "other"}]},
                    title="Stack", stack_kind="vertical")
    with on_commit():
        events.passing(learner, C1)
    part = Award.objects.get(user=learner, credential__slug="part")
    with on_commit():
        awards.revoke_awards([part.pk], "Copied work", source=Award.RevocationSource.OPERATOR)
    api.evaluate_learner(learner.pk)
    stack = next(s for s in api.get_learner_dashboard(learner).progress if s.credential_slug == "stack")
    assert [c.revoked for c in stack.children if c.credential_slug == "part"] == [True]
    texts = [step.requirement.progress_text for step in stack.next_steps if step.requirement]
    assert "revoked: it cannot be earned again unless the issuer allows it" in texts
    client.force_login(learner)
    html = client.get(MY).content.decode()
    assert "<strong>Revoked</strong>" in html and "(revoked: it cannot be earned again" in html
