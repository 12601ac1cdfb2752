"""The operator's Django admin: every page renders, search and filters, criteria editing, actions, deletion."""

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openedx_events.learning.signals import BADGE_REVOKED

from openedx_microcred import rules
from openedx_microcred.admin import describe_requirement
from openedx_microcred.catalog import save_credential
from openedx_microcred.models import Award, CourseDependency, Credential, LearnerFact, Progress, RejectedEvent

from . import events
from .conftest import C1, C2, C3

OTHER_C3 = "course-v1:OtherX+PY103+2026"
ADMIN = "admin:openedx_microcred_{}_{}"
GRADE_EVENT_ID = "3f1c7a52-6a3e-4d5e-9b7a-111111111111"
GRADE_EVENT_UUID = uuid.UUID(GRADE_EVENT_ID)


def url(model, view="changelist", pk=None):
    """The admin URL of one of the app's models: its changelist, or a view of one row when `pk` is given."""
    return reverse(ADMIN.format(model, view), args=() if pk is None else (pk,))


def msgs(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Creating the learner and the admin user hashes two passwords per test: keep that cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def catalog(learner, make_credential, on_commit):
    """Two course credentials and a stack over them, earned by the learner; a draft; a rejected event."""
    basics = make_credential("py-basics", {"type": "course_passed", "course": C1})
    data = make_credential("py-data", {"type": "course_grade", "course": C2, "min_percent": 80})
    stack = make_credential(
        "py-stack",
        {"type": "all", "label": "The whole track", "of": [
            {"type": "credential", "credential": "py-basics"},
            {"type": "at_least", "n": 1, "of": [
                {"type": "credential", "credential": "py-data"},
                {"type": "certificate", "course": C3, "mode": "verified"},
            ]},
        ]},
        stack_kind=Credential.StackKind.VERTICAL,
    )
    draft = make_credential("py-draft", {"type": "course_completion", "course": OTHER_C3, "min_percent": 75},
                            state=Credential.State.DRAFT, org="OtherX")
    with on_commit():
        assert events.passing(learner, C1) == "applied"
    with on_commit():
        events.grade(learner.pk, C2, 0.85, time=events.at(5), event_id=GRADE_EVENT_UUID)
    RejectedEvent.objects.create(
        event_type="org.openedx.learning.course.passing.status.updated.v1", event_id="evt-rejected-1",
        reason="unknown course key 'nope' " + "x" * 300, payload={"course": {"course_key": "nope"}, "user": 7},
    )
    assert Award.objects.filter(user=learner, status=Award.Status.ACTIVE).count() == 3
    return {"basics": basics, "data": data, "stack": stack, "draft": draft}


def make_users(n, prefix="learner"):
    User = get_user_model()
    return User.objects.bulk_create([User(username=f"{prefix}{i}", email=f"{prefix}{i}@example.com") for i in range(n)])


# --- Every page renders -------------------------------------------------------------------------


@pytest.mark.parametrize("model, expected", [
    ("credential", ["py-basics", "py-stack", "py-draft"]),
    ("learnerfact", ["ada", C1, GRADE_EVENT_ID]),
    ("progress", ["py-stack", "100%"]),
    ("award", ["py-basics", "py-stack", "ada"]),
    ("rejectedevent", ["evt-rejected-1", "unknown course key"]),
])
def test_changelists_render(admin_client, catalog, model, expected):
    response = admin_client.get(url(model))
    assert response.status_code == 200
    content = response.content.decode()
    for text in expected:
        assert text in content


def test_credential_changelist_columns(admin_client, catalog):
    response = admin_client.get(url("credential"))
    rows = {c.slug: c for c in response.context["cl"].result_list}
    assert rows["py-stack"].requires_any and not rows["py-basics"].requires_any
    assert rows["py-stack"].active_award_count == 1 and rows["py-draft"].active_award_count == 0
    assert response.context["cl"].model_admin.active_awards(rows["py-basics"]) == 1


@pytest.mark.parametrize("model", ["learnerfact", "progress", "award", "rejectedevent"])
def test_big_tables_skip_the_full_count(admin_client, catalog, model):
    response = admin_client.get(url(model))
    assert response.context["cl"].model_admin.show_full_result_count is False


def test_credential_change_page_renders_tree_and_relations(admin_client, catalog):
    response = admin_client.get(url("credential", "change", catalog["stack"].pk))
    assert response.status_code == 200
    content = response.content.decode()
    assert "All of the following:" in content and "At least 1 of the following:" in content
    assert "The whole track" in content
    assert f"Earn a verified certificate in <code>{C3}</code>" in content
    assert url("credential", "change", catalog["basics"].pk) in content  # required credential linked
    # The dependency index: own courses and those of the credentials it requires.
    index = re.search(r"field-dependency_courses.*?</ul>", content, re.S).group(0)
    assert C1 in index and C2 in index and C3 in index
    assert "font-family: ui-monospace" in content  # the criteria textarea
    assert "1 active award" in content

    response = admin_client.get(url("credential", "change", catalog["data"].pk))
    content = response.content.decode()
    assert f"Reach a grade of at least 80 % in <code>{C2}</code>" in content
    required_by = re.search(r"field-required_by_display.*?</ul>", content, re.S).group(0)
    assert "py-stack" in required_by


def test_credential_add_page_renders(admin_client, db):
    response = admin_client.get(url("credential", "add"))
    assert response.status_code == 200
    assert "null</textarea>" not in response.content.decode()


def test_describe_requirement_reads_like_a_sentence():
    tree = rules.parse_criteria({"type": "at_least", "n": 2, "of": [
        {"type": "course_passed", "course": C1},
        {"type": "course_grade", "course": C2, "min_percent": 80},
        {"type": "enrolled", "course": C3, "modes": ["verified", "professional"]},
        {"type": "credential", "credential": "<script>"},
    ]})
    html = str(describe_requirement(tree))
    assert html.startswith("<strong>At least 2 of the following:</strong><ul")
    assert f"<li>Pass <code>{C1}</code></li>" in html
    assert f"<li>Reach a grade of at least 80 % in <code>{C2}</code></li>" in html
    assert f"Enroll in <code>{C3}</code> (verified or professional track)" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_fact_progress_award_rejected_change_pages(admin_client, catalog, learner):
    fact = LearnerFact.objects.get(user=learner, course_key=C2, kind="grade")
    response = admin_client.get(url("learnerfact", "change", fact.pk))
    assert response.status_code == 200
    assert "&quot;percent&quot;: 0.85" in response.content.decode()
    assert b'name="_save"' not in response.content  # read-only

    progress = Progress.objects.get(user=learner, credential=catalog["stack"])
    response = admin_client.get(url("progress", "change", progress.pk))
    content = response.content.decode()
    assert response.status_code == 200
    assert "<code>criteria.of[0]</code> Earn <a href=" in content
    assert f"Earn a verified certificate in <code>{C3}</code> (0%)" in content
    assert b'name="_save"' not in response.content

    award = Award.objects.get(user=learner, credential=catalog["data"])
    response = admin_client.get(url("award", "change", award.pk))
    content = response.content.decode()
    assert response.status_code == 200
    assert f"grade of <code>{C2}</code>: event <code>{GRADE_EVENT_ID}</code> at 2026-09-01T12:05:00+00:00" in content
    assert b'name="_save"' not in response.content

    stack_award = Award.objects.get(user=learner, credential=catalog["stack"])
    content = admin_client.get(url("award", "change", stack_award.pk)).content.decode()
    basics_award = Award.objects.get(user=learner, credential=catalog["basics"])
    assert "met by award" in content
    assert url("award", "change", basics_award.pk) in content  # the child award, linked

    rejected = RejectedEvent.objects.get()
    response = admin_client.get(url("rejectedevent", "change", rejected.pk))
    assert response.status_code == 200
    assert '&quot;course&quot;: {\n    &quot;course_key&quot;: &quot;nope&quot;' in response.content.decode()


def test_read_only_admins_refuse_add(admin_client, catalog):
    for model in ("learnerfact", "progress", "award", "rejectedevent"):
        assert admin_client.get(url(model, "add")).status_code == 403


# --- Search and filters -------------------------------------------------------------------------


def result_count(admin_client, model, **params):
    response = admin_client.get(url(model), params)
    assert response.status_code == 200
    return response.context["cl"].result_count


def results(admin_client, model, **params):
    return list(admin_client.get(url(model), params).context["cl"].result_list)


def test_credential_search_and_filters(admin_client, catalog):
    assert [c.slug for c in results(admin_client, "credential", q="stack")] == ["py-stack"]
    assert {c.slug for c in results(admin_client, "credential", q="PY10")} == set()  # org-level: no course key
    assert [c.slug for c in results(admin_client, "credential", state__exact="draft")] == ["py-draft"]
    assert [c.slug for c in results(admin_client, "credential", org="OtherX")] == ["py-draft"]
    assert [c.slug for c in results(admin_client, "credential", stack_kind__exact="vertical")] == ["py-stack"]
    assert result_count(admin_client, "credential", revocation_policy__exact="keep") == 4


def test_credential_search_by_course_key(admin_client, catalog):
    catalog["draft"].course_key = OTHER_C3
    catalog["draft"].save()
    assert [c.slug for c in results(admin_client, "credential", q="PY103")] == ["py-draft"]


def test_fact_search_and_filter(admin_client, catalog, learner):
    assert result_count(admin_client, "learnerfact") == 2
    assert result_count(admin_client, "learnerfact", q="ada") == 2
    assert result_count(admin_client, "learnerfact", q="ada@example.com") == 2
    assert result_count(admin_client, "learnerfact", q=C1) == 1
    assert result_count(admin_client, "learnerfact", q=GRADE_EVENT_ID) == 1
    assert result_count(admin_client, "learnerfact", q="course-v1:not a key") == 0
    assert result_count(admin_client, "learnerfact", q="nobody") == 0
    assert [f.kind for f in results(admin_client, "learnerfact", kind__exact="grade")] == ["grade"]


def test_progress_search_and_filters(admin_client, catalog):
    assert result_count(admin_client, "progress") == 3
    assert [p.credential.slug for p in results(admin_client, "progress", q="py-stack")] == ["py-stack"]
    assert result_count(admin_client, "progress", q="ada") == 3
    assert result_count(admin_client, "progress", met__exact="1") == 3
    assert result_count(admin_client, "progress", met__exact="0") == 0
    assert result_count(admin_client, "progress", credential__state__exact="draft") == 0
    assert result_count(admin_client, "progress", credential__state__exact="active") == 3


def test_award_search_and_filters(admin_client, catalog):
    award = Award.objects.get(credential=catalog["stack"])
    assert [a.pk for a in results(admin_client, "award", q=str(award.uuid))] == [award.pk]
    assert [a.pk for a in results(admin_client, "award", q=award.uuid.hex)] == [award.pk]
    assert [a.pk for a in results(admin_client, "award", q="py-stack")] == [award.pk]
    assert result_count(admin_client, "award", q="ada@example.com") == 3
    assert result_count(admin_client, "award", q="ada") == 3
    assert result_count(admin_client, "award", q="py") == 0  # exact identifiers only
    assert result_count(admin_client, "award", credential__id__exact=catalog["basics"].pk) == 1
    assert result_count(admin_client, "award", status__exact="revoked") == 0
    assert result_count(admin_client, "award", status__exact="active") == 3


def test_rejected_event_search_filter_and_dates(admin_client, catalog):
    RejectedEvent.objects.create(event_type="org.openedx.learning.certificate.created.v1", event_id="evt-2",
                                 reason="no user")
    assert result_count(admin_client, "rejectedevent") == 2
    assert result_count(admin_client, "rejectedevent", q="evt-rejected-1") == 1
    assert result_count(admin_client, "rejectedevent", q="no user") == 1
    assert result_count(admin_client, "rejectedevent",
                        event_type="org.openedx.learning.certificate.created.v1") == 1
    today = timezone.now()
    assert result_count(admin_client, "rejectedevent", received_at__year=today.year) == 2
    content = admin_client.get(url("rejectedevent")).content.decode()
    assert "x" * 300 not in content  # the reason is truncated in the list


# --- Creating and editing credentials -----------------------------------------------------------


def form_data(slug, criteria, **fields):
    """The admin's credential form as posted: a draft credential with `criteria`, other fields overridden."""
    data = {
        "slug": slug, "title": slug.title(), "description": "", "org": "DemoX", "course_key": "",
        "state": "draft", "criteria": criteria if isinstance(criteria, str) else json.dumps(criteria),
        "revocation_policy": "keep", "stack_kind": "", "validity_days": "",
        "learning_outcomes": "[]", "workload_hours": "", "ects_credits": "", "eqf_level": "",
        "assessment_type": "", "participation_form": "", "quality_assurance": "",
    }
    data.update(fields)
    return data


def test_add_credential_indexes_its_courses(admin_client, catalog):
    criteria = {"type": "all", "of": [{"type": "credential", "credential": "py-stack"},
                                      {"type": "course_passed", "course": "course-v1:DemoX+PY200+2026"}]}
    response = admin_client.post(url("credential", "add"),
                                 form_data("py-capstone", criteria, course_key="course-v1:DemoX+PY200+2026",
                                           eqf_level="5", ects_credits="2.5"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    capstone = Credential.objects.get(slug="py-capstone")
    assert capstone.criteria == criteria and str(capstone.course_key) == "course-v1:DemoX+PY200+2026"
    assert {str(k) for k in CourseDependency.objects.filter(credential=capstone).values_list("course_key", flat=True)} \
        == {C1, C2, C3, "course-v1:DemoX+PY200+2026"}
    assert list(capstone.requires.values_list("slug", flat=True)) == ["py-stack"]


def test_editing_criteria_refreshes_the_index_of_the_stacks_above(admin_client, catalog):
    data = catalog["data"]
    response = admin_client.post(url("credential", "change", data.pk), form_data(
        "ignored-slug-is-read-only",
        {"type": "course_grade", "course": "course-v1:DemoX+PY900+2026", "min_percent": 70},
        state="active"))
    assert response.status_code == 302
    data.refresh_from_db()
    assert data.slug == "py-data"
    stack_courses = {str(k) for k in catalog["stack"].course_dependencies.values_list("course_key", flat=True)}
    assert stack_courses == {C1, C3, "course-v1:DemoX+PY900+2026"}


def criteria_errors(response):
    """The errors rendered next to the criteria field (inside its form row)."""
    assert response.status_code == 200
    form = response.context["adminform"].form
    row = re.search(r'<div class="form-row[^"]*field-criteria[^"]*">.*?</textarea>', response.content.decode(), re.S)
    assert row and 'class="errorlist' in row.group(0)
    return form.errors["criteria"]


@pytest.mark.parametrize("criteria, message", [
    ({"type": "all", "of": [{"type": "course_passed", "course": "not-a-course"}]},
     "criteria.of[0].course: 'not-a-course' is not a valid course key"),
    ({"type": "at_least", "n": 3, "of": [{"type": "course_passed", "course": C1}]},
     "criteria.n: must be a whole number from 1 to 1"),
    ({"type": "credential", "credential": "no-such-thing"}, "criteria: requires unknown credential 'no-such-thing'"),
    ({"type": "credential", "credential": "py-new"}, "criteria: 'py-new' requires itself"),
    ('{"type": "all", "of": [', "Enter a valid JSON."),
    ("", "This field is required."),
])
def test_add_with_invalid_criteria_shows_the_error_and_saves_nothing(admin_client, catalog, criteria, message):
    before = (Credential.objects.count(), CourseDependency.objects.count())
    response = admin_client.post(url("credential", "add"), form_data("py-new", criteria))
    errors = criteria_errors(response)
    assert any(message in e for e in errors), errors
    assert len(errors) == 1
    assert (Credential.objects.count(), CourseDependency.objects.count()) == before
    assert message.replace("'", "&#x27;") in response.content.decode()


def test_change_creating_a_cycle_is_refused(admin_client, catalog):
    basics = catalog["basics"]
    before = set(CourseDependency.objects.values_list("credential_id", "course_key"))
    response = admin_client.post(url("credential", "change", basics.pk), form_data(
        "py-basics", {"type": "credential", "credential": "py-stack"}, state="active"))
    errors = criteria_errors(response)
    # Told by titles, as a course team knows the credentials.
    assert any("dependency cycle" in e and "“Py-Basics”" in e and "“Py Stack”" in e for e in errors), errors
    basics.refresh_from_db()
    assert basics.criteria == {"type": "course_passed", "course": C1}
    assert set(CourseDependency.objects.values_list("credential_id", "course_key")) == before


def test_invalid_course_key_field_is_a_form_error(admin_client, catalog):
    response = admin_client.post(url("credential", "add"),
                                 form_data("py-new", {"type": "course_passed", "course": C1}, course_key="bogus"))
    assert response.status_code == 200
    assert "is not a valid course key" in response.context["adminform"].form.errors["course_key"][0]
    assert not Credential.objects.filter(slug="py-new").exists()


def test_eqf_level_is_checked(admin_client, catalog):
    response = admin_client.post(url("credential", "add"),
                                 form_data("py-new", {"type": "course_passed", "course": C1}, eqf_level="9"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["eqf_level"]


# --- Actions ------------------------------------------------------------------------------------


def action(admin_client, model, name, objs, **extra):
    data = {"action": name, "_selected_action": [o.pk for o in objs], **extra}
    return admin_client.post(url(model), data, follow=True)


def test_publish_and_archive(admin_client, catalog):
    response = action(admin_client, "credential", "publish", [catalog["draft"], catalog["basics"]])
    catalog["draft"].refresh_from_db()
    assert catalog["draft"].state == Credential.State.ACTIVE
    assert "Published 1 credential." in msgs(response)
    assert any("was not a draft" in m for m in msgs(response))

    response = action(admin_client, "credential", "archive", [catalog["basics"]])
    catalog["basics"].refresh_from_db()
    assert catalog["basics"].state == Credential.State.ARCHIVED
    assert any("'py-stack' requires 'py-basics', which is now archived" in m for m in msgs(response))
    assert Award.objects.filter(credential=catalog["basics"], status=Award.Status.ACTIVE).count() == 1


def test_publishing_a_stack_over_a_draft_warns(admin_client, catalog, make_credential):
    stack = make_credential("py-draft-stack", {"type": "credential", "credential": "py-draft"},
                            state=Credential.State.DRAFT, org="OtherX")
    response = action(admin_client, "credential", "publish", [stack])
    assert any("'py-draft-stack' requires 'py-draft', which is not active" in m for m in msgs(response))


def test_revoke_touches_only_active_awards(admin_client, catalog, learner, django_capture_on_commit_callbacks):
    already = Award.objects.get(credential=catalog["basics"])
    Award.objects.filter(pk=already.pk).update(status=Award.Status.REVOKED, current=None,
                                               revoked_at=timezone.now() - timedelta(days=3),
                                               revocation_reason="criteria no longer met: criteria")
    active = Award.objects.get(credential=catalog["data"])
    untouched = Award.objects.get(credential=catalog["stack"])
    sent = []

    def receiver(**kwargs):
        sent.append(kwargs["badge"].uuid)

    BADGE_REVOKED.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = action(admin_client, "award", "revoke", [already, active], confirm="yes",
                              reason="Plagiarism found in the final project")
    finally:
        BADGE_REVOKED.disconnect(receiver)

    assert "Revoked 1 award." in msgs(response)
    assert any("1 selected award was not active" in m for m in msgs(response))
    active.refresh_from_db()
    assert active.status == Award.Status.REVOKED and active.current is None and active.revoked_at
    assert active.revocation_reason == "Plagiarism found in the final project"
    already.refresh_from_db()
    assert already.revocation_reason == "criteria no longer met: criteria"  # not touched again
    assert already.revoked_at < timezone.now() - timedelta(days=2)
    untouched.refresh_from_db()
    assert untouched.status == Award.Status.ACTIVE and untouched.current is True
    assert sent == [str(active.uuid)]


# --- Deleting credentials -----------------------------------------------------------------------


def test_deleting_a_credential_with_awards_is_refused(admin_client, catalog):
    stack = catalog["stack"]
    for method in (admin_client.get, admin_client.post):
        response = method(url("credential", "delete", stack.pk), {"post": "yes"} if method == admin_client.post else {},
                          follow=True)
        assert response.status_code == 200
        assert any("py-stack" in m and "1 award" in m and "archive the credential instead" in m
                   for m in msgs(response))
    assert Credential.objects.filter(pk=stack.pk).exists()


def test_deleting_a_credential_whose_awards_are_all_revoked_is_still_refused(admin_client, catalog):
    Award.objects.filter(credential=catalog["stack"]).update(status=Award.Status.REVOKED, current=None)
    admin_client.post(url("credential", "delete", catalog["stack"].pk), {"post": "yes"})
    assert Credential.objects.filter(pk=catalog["stack"].pk).exists()


def test_deleting_a_credential_required_by_a_stack_is_refused(admin_client, catalog, make_credential):
    make_credential("py-lonely", {"type": "course_passed", "course": C3})
    make_credential("py-lonely-stack", {"type": "credential", "credential": "py-lonely"})
    lonely = Credential.objects.get(slug="py-lonely")
    response = admin_client.post(url("credential", "delete", lonely.pk), {"post": "yes"}, follow=True)
    assert any("required by py-lonely-stack" in m for m in msgs(response))
    assert Credential.objects.filter(pk=lonely.pk).exists()


def test_bulk_delete_with_awards_is_refused_with_reasons(admin_client, catalog):
    response = action(admin_client, "credential", "delete_selected", [catalog["basics"], catalog["draft"]])
    assert response.status_code == 200
    content = response.content.decode()
    assert "Cannot delete" in content and "archive the credential instead" in content
    response = action(admin_client, "credential", "delete_selected", [catalog["basics"], catalog["draft"]],
                      post="yes")
    assert Credential.objects.filter(pk__in=[catalog["basics"].pk, catalog["draft"].pk]).count() == 2


def test_deleting_a_credential_without_awards_summarizes_and_deletes(admin_client, catalog):
    draft = catalog["draft"]
    response = admin_client.get(url("credential", "delete", draft.pk))
    assert response.status_code == 200
    assert "1 dependency index row" in response.content.decode()
    response = admin_client.post(url("credential", "delete", draft.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Credential.objects.filter(pk=draft.pk).exists()
    assert not CourseDependency.objects.filter(credential_id=draft.pk).exists()


def test_deleting_a_stack_and_its_part_together(admin_client, make_credential):
    make_credential("a-part", {"type": "course_passed", "course": C1})
    make_credential("a-stack", {"type": "credential", "credential": "a-part"})
    both = list(Credential.objects.filter(slug__in=["a-part", "a-stack"]))
    action(admin_client, "credential", "delete_selected", both, post="yes")
    assert not Credential.objects.filter(slug__in=["a-part", "a-stack"]).exists()


# --- Query counts -------------------------------------------------------------------------------


def count_queries(client, path):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_award_changelist_queries_do_not_grow_with_rows(admin_client, catalog, django_assert_max_num_queries):
    few = count_queries(admin_client, url("award"))
    credentials = [catalog["basics"], catalog["data"], catalog["stack"]]
    now = timezone.now()
    Award.objects.bulk_create([
        Award(user=user, credential=credentials[i % 3], issued_at=now, evidence=[])
        for i, user in enumerate(make_users(60))
    ])
    with django_assert_max_num_queries(few):
        response = admin_client.get(url("award"))
    assert len(response.context["cl"].result_list) == 63


@pytest.mark.parametrize("model", ["credential", "learnerfact", "progress"])
def test_other_changelist_queries_do_not_grow_with_rows(admin_client, catalog, make_credential, model,
                                                        django_assert_max_num_queries):
    few = count_queries(admin_client, url(model))
    users = make_users(30)
    now = timezone.now()
    for i in range(10):
        make_credential(f"more-{i}", {"type": "credential", "credential": "py-basics"})
    LearnerFact.objects.bulk_create([
        LearnerFact(user=u, course_key=C1, kind="passing", value={"passed": True}, event_id=f"e{u.pk}",
                    event_type="t", event_time=now) for u in users
    ])
    Progress.objects.bulk_create([Progress(user=u, credential=catalog["stack"], fraction=0.5) for u in users])
    Award.objects.bulk_create([Award(user=u, credential=catalog["basics"], issued_at=now) for u in users])
    with django_assert_max_num_queries(few):
        assert admin_client.get(url(model)).status_code == 200


def test_errors_about_other_credentials_name_them(admin_client, catalog):
    """Closing a cycle from the stack's side: the cycle is told from the credential being edited."""
    stack = catalog["stack"]
    Credential.objects.filter(pk=catalog["basics"].pk).update(criteria={"type": "credential", "credential": "py-stack"})
    response = admin_client.post(url("credential", "change", stack.pk), form_data(
        "py-stack", {"type": "credential", "credential": "py-basics"}, state="active"))
    errors = criteria_errors(response)
    assert "criteria: dependency cycle “Py-Stack” → “Py Basics” → “Py-Stack”" in errors, errors


def test_rejected_event_is_sent_again_once_the_user_exists(admin_client, db, django_capture_on_commit_callbacks):
    """An event for a user the LMS had not replicated yet: kept, then sent again from the admin."""
    ghost = get_user_model()(pk=4242, username="late", email="late@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        assert events.passing(ghost, "course-v1:DemoX+PY101+2026") == "rejected"
        assert events.grade(4242, "course-v1:DemoX+PY101+2026", 0.7) == "rejected"
    RejectedEvent.objects.create(event_type="unparseable", reason="bad JSON",
                                 payload={"line": "{nope", "line_number": 3})
    get_user_model().objects.create_user("late", "late@example.com", "pw", pk=4242)
    url_ = reverse("admin:openedx_microcred_rejectedevent_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url_, {"action": "send_again", "_selected_action": list(
            RejectedEvent.objects.values_list("pk", flat=True))}, follow=True)
    text = response.content.decode()
    assert "Sent again: applied 2" in text
    assert "Not sendable, kept" in text
    assert LearnerFact.objects.filter(user_id=4242).count() == 2
    assert list(RejectedEvent.objects.values_list("event_type", flat=True)) == ["unparseable"]


def test_operator_revoke_then_allow_earning_again(admin_client, db, django_capture_on_commit_callbacks):
    user = get_user_model().objects.create_user("eve", "eve@example.com", "pw")
    save_credential(Credential(slug="basics", title="Basics", org="DemoX", state="active",
                               criteria={"type": "course_passed", "course": "course-v1:DemoX+PY101+2026"}))
    with django_capture_on_commit_callbacks(execute=True):
        events.passing(user, "course-v1:DemoX+PY101+2026")
    award = Award.objects.get()
    changelist = reverse("admin:openedx_microcred_award_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(changelist, {"action": "revoke", "_selected_action": [award.pk], "confirm": "yes",
                                       "reason": "Asked by the course team"})
    award.refresh_from_db()
    assert (award.status, award.revocation_source, award.blocks_reaward) == ("revoked", "operator", True)
    assert not Award.objects.filter(current=True).exists()  # the evaluation that followed did not re-award
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(changelist, {"action": "allow_earning_again", "_selected_action": [award.pk]},
                                     follow=True)
    assert "Lifted 1 block" in response.content.decode()
    assert Award.objects.filter(current=True).count() == 1


def test_revoking_asks_for_confirmation_and_a_reason_first(admin_client, catalog, learner):
    award = Award.objects.get(credential=catalog["basics"])
    first = action(admin_client, "award", "revoke", [award])
    page = first.content.decode()
    assert first.status_code == 200 and "Revoke these awards?" in page and "csrfmiddlewaretoken" in page
    assert f"Py Basics — {learner.username}" in page and 'name="reason"' in page
    award.refresh_from_db()
    assert award.status == Award.Status.ACTIVE  # nothing happens before the confirmation
    blank = action(admin_client, "award", "revoke", [award], confirm="yes", reason="   ")
    assert "Please give a reason." in blank.content.decode()
    award.refresh_from_db()
    assert award.status == Award.Status.ACTIVE
    action(admin_client, "award", "revoke", [award], confirm="yes", reason="Identity could not be confirmed")
    award.refresh_from_db()
    assert award.status == Award.Status.REVOKED and award.revocation_reason == "Identity could not be confirmed"


def test_an_award_is_named_by_its_credential_and_its_learner(admin_client, catalog, learner):
    award = Award.objects.get(credential=catalog["basics"])
    assert str(award) == f"Py Basics — {learner.username} (Active)"
    page = admin_client.get(reverse("admin:openedx_microcred_award_change", args=[award.pk])).content.decode()
    assert f"Py Basics — {learner.username} (Active)" in page
