"""
The edx-platform adapter's completable-block counts, against edx-platform's modules stood in for
by tests/fakes/modulestore.py: counted as edx-completion counts them, cached per course version,
and a course the modulestore does not have is unknown, not an error.
"""

import pytest
from completion.models import BlockCompletion
from django.contrib.auth import get_user_model
from opaque_keys.edx.keys import CourseKey, UsageKey
from waffle.models import Switch

from openedx_microcred import api
from openedx_microcred.facts import pending_facts
from openedx_microcred.models import Award, Progress
from openedx_microcred.permissions import team_courses
from openedx_microcred.platform.edx_platform import EdxPlatformAdapter
from openedx_microcred.tasks import evaluate_learner_task
from sandbox.host.models import Course, CourseAccessRole

from .. import events
from ..conftest import C1, C2
from ..fakes import modulestore as fake

COURSE = ("course", "course", [
    ("chapter", "week1", [
        ("sequential", "lesson1", [
            ("vertical", "unit1", [("html", "intro"), ("video", "talk"), ("problem", "quiz"),
                                   ("discussion", "forum")]),  # a discussion is excluded from completion
            ("vertical", "unit2", [("library_content", "drill", [("problem", "drill1"), ("problem", "drill2")])]),
        ]),
    ]),
])
COMPLETABLE_IN_COURSE = 5  # intro, talk, quiz, drill1, drill2


@pytest.fixture
def platform(monkeypatch, settings):
    settings.MICROCRED_PLATFORM_ADAPTER = "openedx_microcred.platform.edx_platform.EdxPlatformAdapter"
    return fake.install(monkeypatch)


def test_orphans_and_detached_blocks_are_not_counted_as_completable(platform):
    platform.add_course(C1, COURSE, orphans=[("html", "deleted-from-unit1"), ("problem", "old-quiz")],
                        detached=[("about", "overview"), ("course_info", "updates"), ("static_tab", "syllabus")])
    assert len(platform.get_items(CourseKey.from_string(C1))) == 17  # what get_items sees: 5 that count, 12 that do not
    assert EdxPlatformAdapter().completable_blocks([C1]) == {C1: COMPLETABLE_IN_COURSE}


def test_a_block_under_two_parents_and_what_is_beneath_a_completable_or_excluded_block_count_once_or_not(platform):
    shared = ("problem", "shared")
    platform.add_course(C1, ("course", "course", [
        ("chapter", "a", [("vertical", "u1", [shared, ("discussion", "d", [("problem", "under-excluded")])])]),
        ("chapter", "b", [("vertical", "u2", [shared, ("video", "v", [("problem", "under-completable")])])]),
    ]))
    assert EdxPlatformAdapter().completable_blocks([C1]) == {C1: 2}  # shared, v


def test_the_count_is_cached_per_course_version(platform):
    platform.add_course(C1, COURSE, version="v1")
    adapter = EdxPlatformAdapter()
    assert adapter.completable_blocks([C1]) == {C1: 5}
    assert adapter.completable_blocks([C1]) == {C1: 5}
    assert platform.structure_reads == 1
    # The course team publishes one more unit: the block structure is rebuilt under a new version.
    platform.add_course(C1, ("course", "course", [*COURSE[2], ("chapter", "week2", [("html", "more")])]),
                        version="v2")
    assert adapter.completable_blocks([C1]) == {C1: 6}
    assert platform.structure_reads == 2


def test_a_course_missing_from_the_modulestore_or_a_wrong_key_is_left_out(platform, caplog):
    platform.add_course(C1, COURSE)
    counts = EdxPlatformAdapter().completable_blocks([C1, C2, "not-a-course-key"])
    assert counts == {C1: COMPLETABLE_IN_COURSE}
    assert f"course {C2} is not in the modulestore" in caplog.text


def test_outside_edx_platform_no_course_is_known(settings):
    assert EdxPlatformAdapter().completable_blocks([C1]) == {}


def test_a_deleted_course_leaves_its_completion_unknown_and_the_learners_other_credentials_evaluate(
        platform, learner, make_credential, on_commit):
    """A completion fact of a course since deleted from the modulestore, then a passing event in another."""
    make_credential("finisher", {"type": "course_completion", "course": C2, "min_percent": 50})
    make_credential("passer", {"type": "course_passed", "course": C1})
    make_credential("both", {"type": "all", "of": [{"type": "credential", "credential": "passer"},
                                                   {"type": "course_completion", "course": C2}]})
    Switch.objects.create(name="completion.enable_completion_tracking", active=True)
    platform.add_course(C1, COURSE)
    with on_commit():
        for block in ("intro", "quiz", "talk"):
            BlockCompletion.objects.submit_completion(
                learner, UsageKey.from_string(f"block-v1:DemoX+PY102+2026+type@html+block@{block}"), 1.0)
        events.passing(learner, C1)
    assert set(Award.objects.filter(user=learner).values_list("credential__slug", flat=True)) == {"passer"}
    finisher = Progress.objects.get(user=learner, credential__slug="finisher")
    assert not finisher.met and finisher.requirements[0]["unknown"] is True
    # Nothing is left pending for the sweep to queue again, and evaluating again still succeeds.
    assert list(pending_facts(learner.pk, None)) == []
    assert evaluate_learner_task(learner.pk, C2) == {"awarded": [], "revoked": [], "skipped": "nothing pending"}
    assert api.evaluate_learner(learner.pk).awarded == []


def test_the_team_courses_are_the_users_course_roles_and_whole_organizations(db):
    """What the Studio builder's course picker offers (permissions.team_courses, the standalone adapter)."""
    other = "course-v1:OtherX+ML101+2026"
    for key in (C1, C2, other):
        Course.objects.create(course_key=key, display_name=key)
    users = get_user_model().objects
    course_staff = users.create_user("cs")
    CourseAccessRole.objects.create(user=course_staff, org="DemoX", course_key=C1, role="staff")
    CourseAccessRole.objects.create(user=course_staff, org="OtherX", course_key=other, role="beta_testers")
    org_staff = users.create_user("os")
    CourseAccessRole.objects.create(user=org_staff, org="DemoX", course_key=None, role="instructor")
    learner = users.create_user("learner")
    admin = users.create_user("admin", is_staff=True)
    assert team_courses(course_staff, ["DemoX", "OtherX"]) == [C1]  # a beta tester is not on the team
    assert team_courses(org_staff, ["DemoX"]) == [C1, C2]
    assert team_courses(org_staff, ["OtherX"]) == []
    assert team_courses(learner, ["DemoX"]) == []
    assert team_courses(admin, ["DemoX", "OtherX"]) == [C1, C2, other]


def test_studio_links_lead_to_the_course_authoring_mfe_where_it_is_configured(settings):
    settings.COURSE_AUTHORING_MICROFRONTEND_URL = "https://apps.example.org/authoring/"
    assert EdxPlatformAdapter().studio_links(C1) == {
        "home": "https://apps.example.org/authoring/home",
        "outline": f"https://apps.example.org/authoring/course/{C1}",
        "pages": f"https://apps.example.org/authoring/course/{C1}/pages-and-resources",
    }
    settings.COURSE_AUTHORING_MICROFRONTEND_URL = None
    assert EdxPlatformAdapter().studio_links(C1)["outline"] == f"/course/{C1}"
