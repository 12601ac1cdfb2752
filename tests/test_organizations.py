"""
Organizations are isolated (docs/security.md): a credential of organization B may not require
organization A's courses or credentials, nor send its awards with A's badge platform account,
unless an operator pairs them. Each attack is driven the way B's staff would: the REST API (a
session and a JWT), the Studio form, the Django admin and a ``microcred_load`` catalog file.
"""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from edx_rest_framework_extensions.auth.jwt.tests.utils import (
    generate_asymmetric_jwt_token,
    generate_unversioned_payload,
)
from rest_framework.test import APIClient

from openedx_microcred import checks, delivery, organizations, rules
from openedx_microcred.models import Award, Credential, Delivery
from sandbox.host.models import CourseAccessRole

from . import events
from .conftest import C1, C2

# Organization A is DemoX (C1, C2, its credentials and its Credly account); B is OtherX.
B_COURSE = "course-v1:OtherX+ML101+2026"
PASS_C1 = {"type": "course_passed", "course": C1}
PASS_B = {"type": "course_passed", "course": B_COURSE}
LIST = reverse("openedx_microcred:v1:credential-list")
PAIRED = {"OtherX": ["DemoX"]}
A_TOKEN = "a-secret-credly-token-of-demox"


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MICROCRED_PLATFORM_ACCOUNTS = {
        "credly-a": {"backend": "credly", "organization_id": "a", "token": A_TOKEN, "organizations": ["DemoX"]},
        "credly-b": {"backend": "credly", "organization_id": "b", "token": "b-token", "organizations": ["OtherX"]},
    }


@pytest.fixture
def a_catalog(make_credential):
    """Organization A's own credentials: a course credential of C1 and an organization-level stack."""
    return {
        "a-pass": make_credential("a-pass", PASS_C1, course_key=C1),
        "a-stack": make_credential("a-stack", {"type": "all", "of": [
            {"type": "credential", "credential": "a-pass"}, {"type": "course_grade", "course": C2, "min_percent": 50},
        ]}),
    }


@pytest.fixture
def b_staff(db):
    """Staff of the whole OtherX organization (B), with no role in DemoX (A)."""
    user = get_user_model().objects.create_user("bstaff", "bstaff@example.com", "pw")
    CourseAccessRole.objects.create(user=user, org="OtherX", course_key=None, role="staff")
    return user


def session(user):
    client = APIClient()
    client.force_login(user)
    return client


def jwt_client(user):
    token = generate_asymmetric_jwt_token(generate_unversioned_payload(user))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"JWT {token}")
    return client


# The three ways B's criteria can reach into A, and where the refusal points.
CROSSING = {
    "a-course": ({"type": "all", "of": [PASS_B, {"type": "course_grade", "course": C1, "min_percent": 90}]},
                 "criteria.of[1]: course course-v1:DemoX+PY101+2026 belongs to organization 'DemoX'"),
    "a-credential": ({"type": "any", "of": [PASS_B, {"type": "credential", "credential": "a-stack"}]},
                     "criteria.of[1]: credential 'a-stack' belongs to organization 'DemoX'"),
    "a-deep-leaf": ({"type": "at_least", "n": 1, "of": [PASS_B, {"type": "all", "of": [
        {"type": "enrolled", "course": C2}, {"type": "certificate", "course": B_COURSE}]}]},
        "criteria.of[1].of[0]: course course-v1:DemoX+PY102+2026 belongs to organization 'DemoX'"),
}


# --- The REST API ---------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", [session, jwt_client], ids=["session", "jwt"])
@pytest.mark.parametrize("course_key", [None, B_COURSE], ids=["org-level", "course-level"])
@pytest.mark.parametrize("reach", sorted(CROSSING))
def test_b_staff_cannot_make_a_credential_that_awards_on_a_learners_grades(b_staff, a_catalog, auth, course_key,
                                                                           reach):
    criteria, message = CROSSING[reach]
    response = auth(b_staff).post(LIST, {"slug": "b-spy", "title": "Spy", "org": "OtherX", "course_key": course_key,
                                         "criteria": criteria}, format="json")
    assert response.status_code == 400, response.json()
    [error] = response.json()["criteria"]
    assert error.startswith(message) and "MICROCRED_ORGANIZATION_PAIRINGS" in error
    assert not Credential.objects.filter(slug="b-spy").exists()


@pytest.mark.parametrize("reach", sorted(CROSSING))
def test_with_the_operators_pairing_b_may_require_a(b_staff, a_catalog, settings, reach):
    settings.MICROCRED_ORGANIZATION_PAIRINGS = PAIRED
    response = session(b_staff).post(LIST, {"slug": "b-joint", "title": "Joint", "org": "OtherX",
                                            "criteria": CROSSING[reach][0]}, format="json")
    assert response.status_code == 201, response.json()
    assert Credential.objects.get(slug="b-joint").org == "OtherX"


def test_a_pairing_goes_one_way_only(b_staff, make_credential, settings):
    settings.MICROCRED_ORGANIZATION_PAIRINGS = PAIRED  # B may require A; A may not require B
    make_credential("b-pass", PASS_B, org="OtherX", course_key=B_COURSE)
    with pytest.raises(rules.ValidationError, match="credential 'b-pass' belongs to organization 'OtherX'"):
        make_credential("a-over-b", {"type": "credential", "credential": "b-pass"})


def test_b_staff_cannot_change_a_credential_of_theirs_to_reach_into_a(b_staff, a_catalog, make_credential):
    mine = make_credential("b-pass", PASS_B, org="OtherX", course_key=B_COURSE, state=Credential.State.DRAFT)
    url = reverse("openedx_microcred:v1:credential-detail", kwargs={"uuid": mine.uuid})
    response = session(b_staff).patch(url, {"criteria": {"type": "all", "of": [PASS_B, PASS_C1]}}, format="json")
    assert response.status_code == 400 and "belongs to organization 'DemoX'" in response.json()["criteria"][0]
    mine.refresh_from_db()
    assert mine.criteria == PASS_B and not mine.course_dependencies.filter(course_key=C1).exists()


def test_b_staff_cannot_send_b_awards_with_a_platform_account(b_staff):
    response = session(b_staff).post(LIST, {
        "slug": "b-badge", "title": "B badge", "course_key": B_COURSE, "criteria": PASS_B,
        "platform_targets": [{"account": "credly-b", "template_id": "t-b"},
                             {"account": "credly-a", "template_id": "t"}],
    }, format="json")
    assert response.status_code == 400
    [error] = response.json()["platform_targets"]
    assert error == ("platform_targets[1]: account 'credly-a' does not serve organization 'OtherX' "
                     "(its \"organizations\" in MICROCRED_PLATFORM_ACCOUNTS).")
    assert A_TOKEN not in response.content.decode()
    assert not Credential.objects.filter(slug="b-badge").exists()


def test_an_unknown_platform_account_is_refused_by_name(b_staff):
    response = session(b_staff).post(LIST, {"slug": "b-badge", "title": "B", "course_key": B_COURSE, "criteria": PASS_B,
                                            "platform_targets": [{"account": "nobody"}]}, format="json")
    assert response.status_code == 400
    assert response.json()["platform_targets"] == [
        "platform_targets[0]: account 'nobody' is not a configured badge platform account"
        " (MICROCRED_PLATFORM_ACCOUNTS)."]
    assert not Credential.objects.exists()


def test_an_account_for_every_organization_serves_b(b_staff, settings):
    settings.MICROCRED_PLATFORM_ACCOUNTS["credly-a"]["organizations"] = ["*"]
    response = session(b_staff).post(LIST, {"slug": "b-badge", "title": "B", "course_key": B_COURSE, "criteria": PASS_B,
                                            "platform_targets": [{"account": "credly-a"}]}, format="json")
    assert response.status_code == 201, response.json()


def test_global_staff_cannot_cross_either_without_a_pairing(a_catalog, db):
    """The rule is the model's, not a permission: whoever saves, the organizations stay apart."""
    admin = get_user_model().objects.create_user("gstaff", "g@example.com", "pw", is_staff=True)
    response = session(admin).post(LIST, {"slug": "b-spy", "title": "Spy", "org": "OtherX", "criteria": PASS_C1},
                                   format="json")
    assert response.status_code == 400 and "belongs to organization 'DemoX'" in response.json()["criteria"][0]


# --- The Studio form ------------------------------------------------------------------------------


def test_b_staff_cannot_save_a_crossing_credential_in_studio(b_staff, a_catalog, settings, tmp_path):
    settings.ROOT_URLCONF = "sandbox.cms_urls"
    settings.MEDIA_ROOT = tmp_path
    client = Client()
    client.force_login(b_staff)
    url = reverse("openedx_microcred:studio-credential-new", kwargs={"course_key": B_COURSE})
    data = {"title": "Spy", "slug": "b-spy", "criteria": json.dumps(CROSSING["a-credential"][0]),
            "revocation_policy": "keep", "platform_targets": ""}
    response = client.post(url, data)
    assert response.status_code == 200
    assert CROSSING["a-credential"][1] in " ".join(response.context["form"].errors["criteria"])
    assert not Credential.objects.filter(slug="b-spy").exists()

    response = client.post(url, {**data, "criteria": json.dumps(PASS_B),
                                 "platform_targets": json.dumps([{"account": "credly-a"}])})
    assert response.status_code == 200
    assert "account 'credly-a' does not serve organization 'OtherX'" in " ".join(
        response.context["form"].errors["platform_targets"])
    assert not Credential.objects.filter(slug="b-spy").exists()

    settings.MICROCRED_ORGANIZATION_PAIRINGS = PAIRED
    assert client.post(url, data).status_code == 302
    assert Credential.objects.filter(slug="b-spy", org="OtherX").exists()


# --- The Django admin -----------------------------------------------------------------------------


def admin_data(slug, criteria, **fields):
    """The admin's credential form as posted: an OtherX draft with ``criteria``, other fields overridden."""
    data = {
        "slug": slug, "title": slug.title(), "description": "", "org": "OtherX", "course_key": "", "state": "draft",
        "criteria": json.dumps(criteria), "revocation_policy": "keep", "stack_kind": "", "validity_days": "",
        "learning_outcomes": "[]", "platform_targets": "[]", "workload_hours": "", "ects_credits": "",
        "eqf_level": "", "assessment_type": "", "participation_form": "", "quality_assurance": "",
    }
    data.update(fields)
    return data


def test_the_admin_refuses_a_crossing_credential_and_an_org_other_than_the_courses(admin_client, a_catalog, settings):
    add = reverse("admin:openedx_microcred_credential_add")
    response = admin_client.post(add, admin_data("b-spy", CROSSING["a-course"][0]))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert CROSSING["a-course"][1] in errors["criteria"][0]
    response = admin_client.post(add, admin_data("b-spy", PASS_B, course_key=C1))
    assert "The course course-v1:DemoX+PY101+2026 belongs to organization 'DemoX'." in \
        response.context["adminform"].form.errors["org"]
    response = admin_client.post(add, admin_data("b-spy", PASS_B, platform_targets='[{"account": "credly-a"}]'))
    assert "does not serve organization 'OtherX'" in response.context["adminform"].form.errors["platform_targets"][0]
    assert not Credential.objects.filter(slug="b-spy").exists()

    settings.MICROCRED_ORGANIZATION_PAIRINGS = PAIRED
    assert admin_client.post(add, admin_data("b-spy", CROSSING["a-course"][0])).status_code == 302


# --- A catalog file -------------------------------------------------------------------------------


def load(tmp_path, text):
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    call_command("microcred_load", str(path), stdout=io.StringIO(), stderr=io.StringIO())


B_FILE = """
credentials:
  - slug: b-local
    title: B local
    org: OtherX
    course_key: course-v1:OtherX+ML101+2026
    criteria: {type: course_passed, course: 'course-v1:OtherX+ML101+2026'}
  - slug: b-spy
    title: Spy
    org: OtherX
    criteria:
      type: all
      of:
        - {type: credential, credential: b-local}
        - {type: credential, credential: a-pass}
        - {type: course_grade, course: 'course-v1:DemoX+PY102+2026', min_percent: 10}
"""


def test_a_catalog_file_of_b_cannot_require_a(db, a_catalog, tmp_path, settings):
    with pytest.raises(CommandError) as refused:
        load(tmp_path, B_FILE)
    message = str(refused.value)
    assert "nothing was loaded" in message
    assert "credentials[1] (b-spy): criteria.of[1]: credential 'a-pass' belongs to organization 'DemoX'" in message
    assert "credentials[1] (b-spy): criteria.of[2]: course course-v1:DemoX+PY102+2026 belongs to organization" \
        in message
    assert "b-local" not in message.split("error(s)")[1].replace("credential b-local", "")  # b-local is fine
    assert not Credential.objects.filter(org="OtherX").exists()

    settings.MICROCRED_ORGANIZATION_PAIRINGS = PAIRED
    load(tmp_path, B_FILE)
    assert set(Credential.objects.filter(org="OtherX").values_list("slug", flat=True)) == {"b-local", "b-spy"}


def test_a_catalog_entry_requiring_another_entry_of_a_is_refused(db, tmp_path):
    text = B_FILE.replace("{type: credential, credential: a-pass}", "{type: credential, credential: a-new}") + """
  - slug: a-new
    title: A new
    org: DemoX
    criteria: {type: course_passed, course: 'course-v1:DemoX+PY101+2026'}
"""
    with pytest.raises(CommandError, match=r"credentials\[1\] \(b-spy\): criteria.of\[1\]: credential 'a-new' belongs"):
        load(tmp_path, text)
    assert not Credential.objects.exists()


def test_a_catalog_entry_of_another_org_than_its_course_or_with_a_foreign_account_is_refused(db, tmp_path):
    text = """
credentials:
  - slug: b-badge
    title: B
    org: OtherX
    course_key: course-v1:DemoX+PY101+2026
    criteria: {type: course_passed, course: 'course-v1:OtherX+ML101+2026'}
    platform_targets: [{account: credly-a}]
"""
    with pytest.raises(CommandError) as refused:
        load(tmp_path, text)
    message = str(refused.value)
    assert "credentials[0] (b-badge): org: The course course-v1:DemoX+PY101+2026 belongs to organization 'DemoX'." \
        in message
    assert "credentials[0] (b-badge): platform_targets: platform_targets[0]: account 'credly-a' does not serve" \
        in message
    assert A_TOKEN not in message
    assert not Credential.objects.exists()


# --- Credentials stored before the rule -------------------------------------------------------------


@pytest.fixture
def stored_spy(a_catalog):
    """A crossing draft saved before the rule existed (written without validation, as old code did)."""
    return Credential.objects.create(slug="b-spy", title="Spy", org="OtherX", state=Credential.State.DRAFT,
                                     criteria=CROSSING["a-credential"][0])


def test_a_stored_crossing_credential_cannot_be_published(b_staff, stored_spy, admin_client):
    url = reverse("openedx_microcred:v1:credential-publish", kwargs={"uuid": stored_spy.uuid})
    response = session(b_staff).post(url)
    assert response.status_code == 400 and CROSSING["a-credential"][1] in response.json()["criteria"][0]
    response = admin_client.post(reverse("admin:openedx_microcred_credential_changelist"),
                                 {"action": "publish", "_selected_action": [stored_spy.pk]}, follow=True)
    assert any("'b-spy' was not published" in str(m) for m in response.context["messages"])
    stored_spy.refresh_from_db()
    assert stored_spy.state == Credential.State.DRAFT


def test_the_system_check_lists_stored_credentials_that_cross_organizations(stored_spy, settings):
    Credential.objects.create(slug="b-sender", title="S", org="OtherX", criteria=PASS_B,
                              platform_targets=[{"account": "credly-a"}])
    warnings = checks.check_organization_lines()
    assert [(w.id, w.msg.split(":")[0]) for w in warnings] == [
        ("openedx_microcred.W012", "Credential 'b-sender' (draft) of organization 'OtherX'"),
        ("openedx_microcred.W011", "Credential 'b-spy' (draft) of organization 'OtherX' requires another "
                                   "organization's courses or credentials without a pairing"),
    ]
    assert "credential 'a-stack'" in warnings[1].msg and A_TOKEN not in warnings[0].msg
    settings.MICROCRED_ORGANIZATION_PAIRINGS = PAIRED
    settings.MICROCRED_PLATFORM_ACCOUNTS["credly-a"]["organizations"] = ["DemoX", "OtherX"]
    assert checks.check_organization_lines() == []


def test_the_system_check_refuses_accounts_without_organizations_and_malformed_pairings(settings):
    settings.MICROCRED_PLATFORM_ACCOUNTS = {"old": {"backend": "credly", "token": A_TOKEN},
                                            "typo": {"backend": "credly", "organizations": "DemoX"},
                                            "good": {"backend": "credly", "organizations": ["*"]}}
    settings.MICROCRED_ORGANIZATION_PAIRINGS = {"OtherX": "DemoX", "Any": ["*"]}
    errors = checks.check_organization_settings()
    assert [e.id for e in errors] == ["openedx_microcred.E011"] * 2 + ["openedx_microcred.E012"] * 2
    assert "'old'] has no \"organizations\"" in errors[2].msg and '"organizations": ["MyOrgX"]' in errors[2].msg
    assert "'typo'][\"organizations\"] must be a list" in errors[3].msg
    assert all(A_TOKEN not in e.msg for e in errors)
    settings.MICROCRED_ORGANIZATION_PAIRINGS = PAIRED
    settings.MICROCRED_PLATFORM_ACCOUNTS = {"good": {"backend": "credly", "organizations": ["*"]}}
    assert checks.check_organization_settings() == []


# --- At delivery time -----------------------------------------------------------------------------


def test_a_delivery_to_an_account_that_no_longer_serves_the_org_fails_and_sends_nothing(
        settings, make_credential, learner, on_commit, credly):
    settings.MICROCRED_PLATFORM_ACCOUNTS["credly"]["organizations"] = ["DemoX"]
    make_credential("a-badge", PASS_C1, course_key=C1,
                    platform_targets=[{"account": "credly", "template_id": credly.default_template_id}])
    # The operator gives the account to another organization; the award comes after.
    settings.MICROCRED_PLATFORM_ACCOUNTS["credly"]["organizations"] = ["OtherX"]
    with on_commit():
        events.passing(learner, C1)
    assert Award.objects.filter(user=learner).exists()
    row = Delivery.objects.get()
    assert row.state == Delivery.State.FAILED
    assert row.last_error == ("not sent: account 'credly' does not serve organization 'DemoX' "
                              "(its \"organizations\" in MICROCRED_PLATFORM_ACCOUNTS).")
    assert credly.badges == {}
    assert credly.token not in row.last_error
    assert delivery.check_targets() == [("a-badge", "credly", row.last_error.removeprefix("not sent: "))]


# --- The rule itself --------------------------------------------------------------------------------


def test_every_leaf_kind_is_walked_for_its_organization():
    tree = rules.parse_criteria({"type": "all", "of": [
        {"type": "course_passed", "course": "course-v1:A+1+1"},
        {"type": "course_grade", "course": "course-v1:B+1+1", "min_percent": 1},
        {"type": "any", "of": [
            {"type": "course_completion", "course": "course-v1:C+1+1"},
            {"type": "at_least", "n": 1, "of": [
                {"type": "certificate", "course": "course-v1:D+1+1"},
                {"type": "enrolled", "course": "course-v1:E+1+1"},
                {"type": "credential", "credential": "f-cred"},
                {"type": "credential", "credential": "unknown"},
            ]},
        ]},
    ]})
    found = [(leaf.path, org) for leaf, org in organizations.referenced_organizations(tree, {"f-cred": "F"})]
    assert found == [("criteria.of[0]", "A"), ("criteria.of[1]", "B"), ("criteria.of[2].of[0]", "C"),
                     ("criteria.of[2].of[1].of[0]", "D"), ("criteria.of[2].of[1].of[1]", "E"),
                     ("criteria.of[2].of[1].of[2]", "F"), ("criteria.of[2].of[1].of[3]", None)]
    assert [p.split(":")[0] for p in organizations.criteria_problems("A", tree, {"f-cred": "F"})] == [
        "criteria.of[1]", "criteria.of[2].of[0]", "criteria.of[2].of[1].of[0]", "criteria.of[2].of[1].of[1]",
        "criteria.of[2].of[1].of[2]"]
