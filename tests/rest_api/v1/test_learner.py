"""The learner REST API: /microcred/api/v1/me/... (own awards, own progress, the dashboard widget)."""

from dataclasses import fields

import jwt
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from edx_rest_framework_extensions.auth.jwt.tests.utils import (
    generate_asymmetric_jwt_token,
    generate_jwt,
    generate_latest_version_payload,
)

from openedx_microcred.awards import revoke_awards
from openedx_microcred.data import (
    AwardData,
    CredentialProgress,
    CredentialStatus,
    EarnedBadge,
    LearnerDashboard,
    MissingRequirement,
    NextStep,
    RequirementStatus,
)
from openedx_microcred.issuer import lms_root_url
from openedx_microcred.models import Award
from sandbox.host.models import Course

from ... import events
from ...conftest import C1, C2

AWARDS = reverse("openedx_microcred:v1:my-awards")
PROGRESS = reverse("openedx_microcred:v1:my-progress")
WIDGET = reverse("openedx_microcred:v1:dashboard-widget")
ENDPOINTS = (AWARDS, PROGRESS, WIDGET)


@pytest.fixture
def grace(db):
    # No password: hashing one takes most of a second, and force_login needs none.
    return get_user_model().objects.create_user("grace", "grace@example.com")


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("sam", "sam@example.com", is_staff=True)


@pytest.fixture
def earned(learner, grace, make_credential, on_commit):
    """ada passes C1 (holds 'basics', half-way along 'stack') and has 60 % in C2; grace holds 'data'."""
    Course.objects.create(course_key=C2, display_name="Data Analysis")
    make_credential("basics", {"type": "course_passed", "course": C1}, title="Python Basics")
    make_credential("data", {"type": "course_grade", "course": C2, "min_percent": 80}, title="Data Skills")
    make_credential("stack", {"type": "all", "of": [{"type": "credential", "credential": "basics"},
                                                    {"type": "credential", "credential": "data"}]},
                    title="Python Stack", stack_kind="horizontal")
    with on_commit():
        events.passing(learner, C1, time=events.at(1))
        events.grade(learner.pk, C2, 0.6, time=events.at(2))
        events.grade(grace.pk, C2, 0.9, time=events.at(3))


def get(client, url, user=None, **params):
    if user is not None:
        client.force_login(user)
    return client.get(url, params)


# --- Anonymous, own data, another learner, global staff -----------------------------------------------


@pytest.mark.parametrize("url", ENDPOINTS)
def test_anonymous_gets_401(client, db, url):
    response = client.get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("JWT")


def test_my_awards(client, earned, learner):
    data = get(client, AWARDS, learner).json()
    award = Award.objects.get(user=learner)
    assert data["username"] == "ada"
    assert [(a["credential_slug"], a["title"], a["status"]) for a in data["awards"]] == [
        ("basics", "Python Basics", "active")]
    assert data["awards"][0]["uuid"] == str(award.uuid)
    assert data["awards"][0]["evidence"][0]["requirement"] == {"type": "course_passed", "course": C1}


def test_revoked_awards_only_when_asked(client, earned, learner):
    revoke_awards(Award.objects.filter(user=learner).values_list("pk", flat=True), reason="test")
    assert get(client, AWARDS, learner).json()["awards"] == []
    data = get(client, AWARDS, include_revoked="true").json()
    assert [(a["credential_slug"], a["status"]) for a in data["awards"]] == [("basics", "revoked")]


def test_my_progress(client, earned, learner):
    data = get(client, PROGRESS, learner).json()
    by_slug = {p["credential_slug"]: p for p in data["progress"]}
    assert set(by_slug) == {"basics", "data", "stack"}
    stack = by_slug["stack"]
    # 1 of its 2 requirements met (data is at 75 %: not met, counts nothing; catalog-format.md)
    assert (stack["earned"], stack["is_stack"], stack["fraction"]) == (False, True, pytest.approx(0.5))
    assert [m["credential_slug"] for m in stack["missing"]] == ["data"]
    assert [c["credential_slug"] for c in stack["children"]] == ["basics", "data"]
    assert by_slug["data"]["missing"][0]["min_percent"] == 80


def test_my_progress_of_one_course(client, earned, learner):
    data = get(client, PROGRESS, learner, course_key=C2).json()
    assert {p["credential_slug"] for p in data["progress"]} == {"data", "stack"}


@pytest.mark.parametrize("bad", ["not-a-key", "course-v1:only+two"])
def test_a_bad_course_key_is_a_400_naming_the_field(client, earned, learner, bad):
    response = get(client, PROGRESS, learner, course_key=bad)
    assert response.status_code == 400
    assert response.json() == {"course_key": [f"'{bad}' is not a valid course key."]}


def test_the_dashboard_widget(client, earned, learner):
    data = get(client, WIDGET, learner).json()
    root = lms_root_url()
    award = Award.objects.get(user=learner)
    assert (data["username"], data["badges_count"]) == ("ada", 1)
    assert data["my_credentials_url"] == f"{root}/microcred/my/"
    (badge,) = data["badges"]
    assert badge["uuid"] == str(award.uuid) and badge["title"] == "Python Basics"
    assert badge["public_url"] == f"{root}/microcred/credentials/{award.uuid}/"
    assert badge["json_url"] == f"{root}/microcred/credentials/{award.uuid}.json?download=1"
    assert badge["linkedin_url"].startswith("https://www.linkedin.com/profile/add?")
    # Stacks in progress first, then single credentials in progress, then what is earned.
    assert [(p["credential_slug"], p["percent"], p["earned"]) for p in data["progress"]] == [
        ("stack", 50, False), ("data", 0, False), ("basics", 100, True)]
    stack = data["progress"][0]
    (step,) = stack["next_steps"]
    assert step["text"] == "Earn Data Skills" and step["requirement"]["credential_slug"] == "data"
    (course_step,) = data["progress"][1]["next_steps"]
    assert course_step["requirement"]["course_name"] == "Data Analysis"
    assert course_step["requirement"]["course_url"] == f"{root}/courses/{C2}/"
    assert course_step["requirement"]["percent"] == 75


def names(dataclass):
    return {f.name for f in fields(dataclass)}


def test_the_json_carries_every_field_of_the_dataclasses(client, earned, learner):
    widget = get(client, WIDGET, learner).json()
    assert set(widget) == names(LearnerDashboard)
    assert set(widget["badges"][0]) == names(EarnedBadge)
    stack = widget["progress"][0]
    assert set(stack) == set(stack["children"][0]) == names(CredentialStatus)
    assert set(stack["next_steps"][0]) == names(NextStep)
    assert set(stack["next_steps"][0]["requirement"]) == names(MissingRequirement)
    assert set(get(client, AWARDS).json()["awards"][0]) == names(AwardData)
    progress = get(client, PROGRESS).json()["progress"]
    assert all(set(p) == names(CredentialProgress) for p in progress)
    assert set(next(p for p in progress if p["missing"])["missing"][0]) == names(RequirementStatus)


@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_learner_cannot_ask_for_another_learner(client, earned, learner, url):
    response = get(client, url, learner, username="grace")
    assert response.status_code == 403
    assert "grace" not in response.content.decode() and "Data Skills" not in response.content.decode()
    # Whether that learner exists or not: no way to find out who has an account.
    assert get(client, url, username="nobody").status_code == 403
    # Their own username is fine.
    assert get(client, url, username="ada").status_code == 200


@pytest.mark.parametrize("url", ENDPOINTS)
def test_each_learner_sees_only_their_own(client, earned, learner, grace, url):
    ada_ids = {str(a.uuid) for a in Award.objects.filter(user=learner)}
    body = get(client, url, grace).content.decode()
    assert '"username":"grace"' in body
    assert not any(uuid in body for uuid in ada_ids)


def test_global_staff_may_read_any_learner(client, earned, learner, staff):
    assert get(client, AWARDS, staff, username="ada").json()["awards"][0]["credential_slug"] == "basics"
    assert get(client, WIDGET, username="grace").json()["badges"][0]["credential_slug"] == "data"
    assert get(client, PROGRESS, username="ada", course_key=C1).status_code == 200
    assert get(client, AWARDS, username="nobody").status_code == 404
    # Without a username, staff see their own (empty) record.
    assert get(client, WIDGET).json() == {
        "user_id": staff.pk, "username": "sam", "badges_count": 0, "badges": [], "progress": [],
        "my_credentials_url": f"{lms_root_url()}/microcred/my/", "revoked": [],
        "sharing": {"show_name": False, "show_grade": False}}


def test_an_inactive_staff_account_is_not_global_staff(client, earned, staff):
    staff.is_active = False
    staff.save()
    token = generate_jwt(staff)  # JWT (like the LMS session) lets inactive accounts in; staff rights do not follow
    assert client.get(AWARDS, {"username": "ada"}, HTTP_AUTHORIZATION=f"JWT {token}").status_code == 403


# --- JWT, as the learner-dashboard MFE sends it -------------------------------------------------------


def test_a_jwt_from_the_lms_is_accepted(client, earned, learner):
    for token in (generate_jwt(learner), generate_asymmetric_jwt_token(generate_latest_version_payload(learner))):
        response = client.get(WIDGET, HTTP_AUTHORIZATION=f"JWT {token}")
        assert response.status_code == 200
        assert response.json()["username"] == "ada"


def test_a_jwt_with_a_bad_signature_is_refused(client, earned, learner):
    forged = jwt.encode(generate_latest_version_payload(learner), "not-the-issuer-secret-0123456789abcdef")
    assert client.get(WIDGET, HTTP_AUTHORIZATION=f"JWT {forged}").status_code == 401


def test_writes_are_not_allowed(client, earned, learner):
    client.force_login(learner)
    for url in ENDPOINTS:
        assert client.post(url, {}, content_type="application/json").status_code == 405
