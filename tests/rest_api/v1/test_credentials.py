"""
The course team's REST API (v1): who may list, create, change, publish and archive credentials and
upload badge images; what a 400 says; that nothing is saved after a 400 or a 403; JWT
authentication; the OpenAPI schema.
"""

import re
import time

import jwt
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, reverse
from drf_spectacular.validation import validate_schema
from edx_rest_framework_extensions.auth.jwt.tests.utils import (
    generate_asymmetric_jwt_token,
    generate_jwt_token,
    generate_unversioned_payload,
)
from rest_framework.test import APIClient

from openedx_microcred import api
from openedx_microcred.images import MAX_BYTES, PNG_SIGNATURE
from openedx_microcred.models import Credential
from openedx_microcred.rest_api.v1 import urls as v1_urls

from ... import events
from ...conftest import C1, C2
from .clients import LIST, client_for

OTHER_ORG_COURSE = "course-v1:OtherX+AI101+2026"
PASS_C1 = {"type": "course_passed", "course": C1}
PASS_C2 = {"type": "course_passed", "course": C2}
PNG = PNG_SIGNATURE + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>'


def detail(credential, name="credential-detail"):
    return reverse(f"openedx_microcred:v1:{name}", kwargs={"uuid": credential.uuid})


def requires(*slugs):
    return {"type": "all", "of": [{"type": "credential", "credential": slug} for slug in slugs]}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploads in a temporary directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test users
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def _accounts(settings):
    """The badge platform account the course team's credentials name, serving their organization."""
    settings.MICROCRED_PLATFORM_ACCOUNTS = {"credly-demo": {"backend": "credly", "organizations": ["DemoX"]}}


@pytest.fixture
def catalog(make_credential):
    """Two course credentials of C1, one of C2, an organization-level stack over both courses."""
    return {
        "c1-pass": make_credential("c1-pass", PASS_C1, course_key=C1),
        "c1-grade": make_credential("c1-grade", {"type": "course_grade", "course": C1, "min_percent": 80},
                                    course_key=C1, state=Credential.State.DRAFT),
        "c2-pass": make_credential("c2-pass", PASS_C2, course_key=C2),
        "org-stack": make_credential("org-stack", requires("c1-pass", "c2-pass"), stack_kind="horizontal"),
    }


def new(slug="new-badge", **fields):
    data = {"slug": slug, "title": "New badge", "course_key": C1, "criteria": PASS_C1}
    data.update(fields)
    return data


def slugs(response):
    return [item["slug"] for item in response.json()["results"]]


# --- Listing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "instructor", "org_staff", "global_staff"])
def test_course_team_lists_the_course_credentials(users, catalog, who):
    response = client_for(users[who]).get(LIST, {"course_key": C1})
    assert response.status_code == 200
    assert slugs(response) == ["c1-grade", "c1-pass"]
    body = response.json()
    assert body["count"] == 2 and body["num_pages"] == 1
    item = body["results"][1]
    assert item["uuid"] == str(catalog["c1-pass"].uuid)
    assert item["course_key"] == C1 and item["org"] == "DemoX" and item["state"] == "active"
    assert item["criteria"] == PASS_C1 and item["is_stack"] is False and item["requires"] == []


@pytest.mark.parametrize("who, status", [("other_staff", 403), ("learner", 403), (None, 401)])
def test_others_cannot_list_a_course(users, catalog, who, status):
    response = client_for(users.get(who)).get(LIST, {"course_key": C1})
    assert response.status_code == status
    assert "results" not in response.json()


def test_inactive_course_staff_cannot_list(users, catalog):
    token = generate_asymmetric_jwt_token(generate_unversioned_payload(users["staff"]))
    users["staff"].is_active = False
    users["staff"].save()
    # The session of an inactive user signs nobody in; a JWT does, and the permissions refuse.
    assert client_for(users["staff"]).get(LIST, {"course_key": C1}).status_code == 401
    assert APIClient().get(LIST, {"course_key": C1}, HTTP_AUTHORIZATION=f"JWT {token}").status_code == 403


def test_org_team_lists_every_credential_of_the_org(users, catalog):
    response = client_for(users["org_staff"]).get(LIST, {"org": "DemoX"})
    assert response.status_code == 200
    assert slugs(response) == ["c1-grade", "c1-pass", "c2-pass", "org-stack"]
    stack = response.json()["results"][3]
    assert stack["course_key"] is None and stack["is_stack"] is True
    assert stack["requires"] == ["c1-pass", "c2-pass"]
    assert client_for(users["staff"]).get(LIST, {"org": "DemoX"}).status_code == 403


def test_list_filters_by_state_and_paginates(users, catalog):
    client = client_for(users["org_staff"])
    assert slugs(client.get(LIST, {"org": "DemoX", "state": "draft"})) == ["c1-grade"]
    page = client.get(LIST, {"org": "DemoX", "page_size": 3, "page": 2}).json()
    assert page["count"] == 4 and page["num_pages"] == 2 and [i["slug"] for i in page["results"]] == ["org-stack"]


def test_list_needs_a_course_or_org_except_for_global_staff(users, catalog):
    response = client_for(users["staff"]).get(LIST)
    assert response.status_code == 400
    assert "course_key" in response.json()
    everything = client_for(users["global_staff"]).get(LIST)
    assert everything.status_code == 200 and everything.json()["count"] == 4


def test_list_with_a_bad_course_key_is_a_field_error(users, catalog):
    response = client_for(users["staff"]).get(LIST, {"course_key": "not-a-course"})
    assert response.status_code == 400
    assert response.json() == {"course_key": ["'not-a-course' is not a valid course key."]}


# --- Creating -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "instructor", "org_staff", "global_staff"])
def test_course_team_creates_a_draft(users, who):
    response = client_for(users[who]).post(
        LIST, new(learning_outcomes=["Write Python"], ects_credits=2.5, eqf_level=4, validity_days=365,
                  platform_targets=[{"account": "credly-demo", "template_id": "t-1"}]),
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "draft" and body["org"] == "DemoX" and body["image"] is None
    assert body["ects_credits"] == 2.5 and body["learning_outcomes"] == ["Write Python"]
    assert body["platform_targets"] == [{"account": "credly-demo", "template_id": "t-1"}]
    stored = Credential.objects.get(slug="new-badge")
    assert str(stored.uuid) == body["uuid"] and str(stored.course_key) == C1
    assert stored.state == Credential.State.DRAFT and stored.eqf_level == 4


def test_state_given_on_create_is_ignored(users):
    response = client_for(users["staff"]).post(LIST, new(state="active"), format="json")
    assert response.status_code == 201 and response.json()["state"] == "draft"


@pytest.mark.parametrize("who, status", [("other_staff", 403), ("learner", 403), (None, 401)])
def test_others_cannot_create(users, who, status):
    response = client_for(users.get(who)).post(LIST, new(), format="json")
    assert response.status_code == status
    assert not Credential.objects.filter(slug="new-badge").exists()


def test_course_stack_within_the_course_is_the_course_teams(users, catalog):
    response = client_for(users["staff"]).post(LIST, new(criteria=requires("c1-pass", "c1-grade")), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["is_stack"] is True and response.json()["requires"] == ["c1-grade", "c1-pass"]


def test_org_team_creates_an_org_level_stack_across_courses(users, catalog):
    data = {"slug": "python-pro", "title": "Pro", "org": "DemoX", "criteria": requires("c1-pass", "c2-pass"),
            "stack_kind": "horizontal"}
    response = client_for(users["org_staff"]).post(LIST, data, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["course_key"] is None and response.json()["requires"] == ["c1-pass", "c2-pass"]
    assert Credential.objects.get(slug="python-pro").requires.count() == 2


def test_course_team_cannot_create_org_level_credentials(users, catalog):
    data = {"slug": "python-pro", "title": "Pro", "org": "DemoX", "criteria": requires("c1-pass")}
    response = client_for(users["staff"]).post(LIST, data, format="json")
    assert response.status_code == 403
    assert not Credential.objects.filter(slug="python-pro").exists()


@pytest.mark.parametrize("criteria", [requires("c1-pass", "c2-pass"), PASS_C2, requires("org-stack")])
def test_course_team_cannot_reach_into_other_courses(users, catalog, criteria):
    response = client_for(users["staff"]).post(LIST, new(criteria=criteria), format="json")
    assert response.status_code == 403
    assert "other courses" in response.json()["detail"]
    assert not Credential.objects.filter(slug="new-badge").exists()
    # The organization's team may place such a stack in the course.
    assert client_for(users["org_staff"]).post(LIST, new(criteria=criteria), format="json").status_code == 201


@pytest.mark.parametrize("data, field, message", [
    (new(course_key="not-a-course"), "course_key", "'not-a-course' is not a valid course key."),
    (new(org="OtherX"), "org", "belongs to organization 'DemoX'"),
    (new(criteria=requires("c1-pass", "no-such-badge")), "criteria", "requires unknown credential 'no-such-badge'"),
    (new(criteria={"type": "at_least", "n": 3, "of": [PASS_C1]}), "criteria", "criteria"),
    (new(criteria={"type": "course_grade", "course": C1}), "criteria", "min_percent"),
    (new(criteria={"type": "course_passed", "course": "nope"}), "criteria", "nope"),
    (new(slug="c1-pass"), "slug", "already exists"),
    (new(slug="not a slug"), "slug", "slug"),
    (new(eqf_level=9), "eqf_level", "8"),
    (new(validity_days=0), "validity_days", "greater than or equal to 1"),
    (new(revocation_policy="sometimes"), "revocation_policy", "sometimes"),
    (new(platform_targets=[{"template_id": "t-1"}]), "platform_targets", "account"),
    ({"slug": "x", "title": "X", "criteria": PASS_C1}, "org", "needs an org"),
    ({"slug": "x", "course_key": C1}, "criteria", "required"),
])
def test_invalid_values_are_field_errors_and_nothing_is_saved(users, catalog, data, field, message):
    before = Credential.objects.count()
    response = client_for(users["staff"]).post(LIST, data, format="json")
    assert response.status_code == 400, response.json()
    errors = response.json()
    assert field in errors, errors
    assert any(message in text for text in errors[field]), errors
    assert Credential.objects.count() == before


def test_multipart_create_with_a_badge_image(users, _media):
    response = client_for(users["staff"]).post(LIST, {
        "slug": "with-image", "title": "With image", "course_key": C1,
        "criteria": '{"type": "course_passed", "course": "%s"}' % C1,
        "platform_targets": '[{"account": "credly-demo"}]',
        "learning_outcomes": ["One", "Two"],
        "image": SimpleUploadedFile("badge.png", PNG, content_type="image/png"),
    }, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    stored = Credential.objects.get(slug="with-image")
    file_name = stored.image.name.rsplit('/', 1)[1]
    assert body["image"] == f"http://127.0.0.1:8000/microcred/badges/{stored.uuid}/{file_name}"
    assert body["criteria"] == PASS_C1 and body["learning_outcomes"] == ["One", "Two"]
    assert stored.image.read() == PNG


@pytest.mark.parametrize("name, content, message", [
    ("badge.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "PNG or an SVG"),
    ("badge.png", PNG_SIGNATURE + b"\x00" * MAX_BYTES, "at most 512 KiB"),
    ("badge.png", b"GIF89a not a png", "not a PNG"),
    ("badge.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "script"),
])
def test_create_with_a_bad_image_saves_nothing(users, _media, name, content, message):
    response = client_for(users["staff"]).post(LIST, {
        "slug": "with-image", "title": "With image", "course_key": C1,
        "criteria": '{"type": "course_passed", "course": "%s"}' % C1,
        "image": SimpleUploadedFile(name, content),
    }, format="multipart")
    assert response.status_code == 400
    assert any(message in text for text in response.json()["image"]), response.json()
    assert not Credential.objects.filter(slug="with-image").exists()
    assert not [path for path in _media.rglob("*") if path.is_file()]  # no file left behind either


# --- Reading and changing -----------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [
    ("staff", 200), ("instructor", 200), ("org_staff", 200), ("global_staff", 200),
    ("other_staff", 403), ("learner", 403), (None, 401),
])
def test_reading_a_credential(users, catalog, who, status):
    response = client_for(users.get(who)).get(detail(catalog["c1-pass"]))
    assert response.status_code == status
    if status == 200:
        assert response.json()["slug"] == "c1-pass"
    else:
        assert "slug" not in response.json()


def test_unknown_uuid_is_404(users, catalog):
    url = reverse("openedx_microcred:v1:credential-detail", kwargs={"uuid": "00000000-0000-4000-8000-000000000000"})
    assert client_for(users["staff"]).get(url).status_code == 404


def test_course_team_changes_a_credential(users, catalog):
    response = client_for(users["instructor"]).patch(
        detail(catalog["c1-pass"]), {"title": "Python passed", "workload_hours": 40}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["title"] == "Python passed"
    stored = Credential.objects.get(slug="c1-pass")
    assert stored.title == "Python passed" and stored.workload_hours == 40


def test_put_replaces_the_values(users, catalog):
    data = new(slug="c1-grade", title="Graded", criteria={"type": "course_grade", "course": C1, "min_percent": 90})
    response = client_for(users["staff"]).put(detail(catalog["c1-grade"]), data, format="json")
    assert response.status_code == 200, response.json()
    stored = Credential.objects.get(slug="c1-grade")
    assert stored.title == "Graded" and stored.criteria["min_percent"] == 90


@pytest.mark.parametrize("who, status", [("other_staff", 403), ("learner", 403), (None, 401)])
def test_others_cannot_change_a_credential(users, catalog, who, status):
    response = client_for(users.get(who)).patch(detail(catalog["c1-pass"]), {"title": "Hacked"}, format="json")
    assert response.status_code == status
    assert Credential.objects.get(slug="c1-pass").title == "C1 Pass"


def test_slug_cannot_change(users, catalog):
    response = client_for(users["staff"]).patch(detail(catalog["c1-pass"]), {"slug": "renamed"}, format="json")
    assert response.status_code == 400
    assert "cannot change" in response.json()["slug"][0]
    assert Credential.objects.filter(slug="c1-pass").exists() and not Credential.objects.filter(slug="renamed").exists()


def test_a_cycle_is_refused(users, catalog):
    client = client_for(users["staff"])
    created = client.post(LIST, new(slug="a", criteria=requires("c1-grade")), format="json")
    assert created.status_code == 201
    response = client.patch(detail(catalog["c1-grade"]), {"criteria": requires("a")}, format="json")
    assert response.status_code == 400
    assert any("cycle" in message for message in response.json()["criteria"]), response.json()
    assert Credential.objects.get(slug="c1-grade").criteria["type"] == "course_grade"


def test_invalid_rule_tree_on_update_is_refused(users, catalog):
    response = client_for(users["staff"]).patch(
        detail(catalog["c1-pass"]), {"criteria": {"type": "all", "of": []}}, format="json")
    assert response.status_code == 400 and "criteria" in response.json()
    assert Credential.objects.get(slug="c1-pass").criteria == PASS_C1


def test_new_values_need_permission_too(users, catalog):
    client = client_for(users["staff"])
    reaching = client.patch(detail(catalog["c1-grade"]), {"criteria": requires("c2-pass")}, format="json")
    assert reaching.status_code == 403
    moving = client.patch(detail(catalog["c1-grade"]), {"course_key": C2}, format="json")
    assert moving.status_code == 403
    to_org = client.patch(detail(catalog["c1-grade"]), {"course_key": None}, format="json")
    assert to_org.status_code == 403
    stored = Credential.objects.get(slug="c1-grade")
    assert str(stored.course_key) == C1 and stored.criteria["type"] == "course_grade"


def test_course_team_reads_but_cannot_change_a_cross_course_stack_in_its_course(users, catalog, make_credential):
    stack = make_credential("c1-plus", requires("c1-pass", "c2-pass"), course_key=C1)
    client = client_for(users["staff"])
    assert client.get(detail(stack)).status_code == 200
    response = client.patch(detail(stack), {"title": "Mine now"}, format="json")
    assert response.status_code == 403 and "other courses" in response.json()["detail"]
    assert client.post(detail(stack, "credential-archive")).status_code == 403
    assert client_for(users["org_staff"]).patch(detail(stack), {"title": "Theirs"}, format="json").status_code == 200


def test_changing_the_course_derives_the_org_and_refuses_a_mismatch(users, catalog):
    client = client_for(users["global_staff"])
    response = client.patch(detail(catalog["c1-grade"]), {"course_key": OTHER_ORG_COURSE,
                                                          "criteria": {"type": "course_passed",
                                                                       "course": OTHER_ORG_COURSE}},
                            format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["org"] == "OtherX"
    mismatch = client.patch(detail(catalog["c1-pass"]), {"org": "OtherX"}, format="json")
    assert mismatch.status_code == 400 and "org" in mismatch.json()
    assert Credential.objects.get(slug="c1-pass").org == "DemoX"


# --- Publishing and archiving -------------------------------------------------------------------


def test_publish_and_archive(users, catalog):
    client = client_for(users["staff"])
    published = client.post(detail(catalog["c1-grade"], "credential-publish"))
    assert published.status_code == 200 and published.json()["state"] == "active"
    assert Credential.objects.get(slug="c1-grade").state == Credential.State.ACTIVE
    archived = client.post(detail(catalog["c1-grade"], "credential-archive"))
    assert archived.status_code == 200 and archived.json()["state"] == "archived"
    assert Credential.objects.get(slug="c1-grade").state == Credential.State.ARCHIVED


def test_publishing_a_stack_on_a_draft_is_refused(users, catalog):
    client = client_for(users["staff"])
    stack = client.post(LIST, new(slug="c1-both", criteria=requires("c1-pass", "c1-grade")), format="json").json()
    response = client.post(reverse("openedx_microcred:v1:credential-publish", kwargs={"uuid": stack["uuid"]}))
    assert response.status_code == 400
    assert "c1-grade" in response.json()["criteria"][0]
    assert Credential.objects.get(slug="c1-both").state == Credential.State.DRAFT


def test_archiving_what_an_active_stack_requires_is_refused(users, catalog):
    response = client_for(users["org_staff"]).post(detail(catalog["c1-pass"], "credential-archive"))
    assert response.status_code == 400
    assert "org-stack" in response.json()["state"][0]
    assert Credential.objects.get(slug="c1-pass").state == Credential.State.ACTIVE


@pytest.mark.parametrize("action", ["credential-publish", "credential-archive"])
@pytest.mark.parametrize("who, status", [("other_staff", 403), ("learner", 403), (None, 401)])
def test_others_cannot_publish_or_archive(users, catalog, action, who, status):
    response = client_for(users.get(who)).post(detail(catalog["c1-grade"], action))
    assert response.status_code == status
    assert Credential.objects.get(slug="c1-grade").state == Credential.State.DRAFT


def test_publishing_awards_learners_who_already_meet_the_criteria(users, learner, on_commit):
    with on_commit():
        events.passing(learner, C1)
    client = client_for(users["staff"])
    created = client.post(LIST, new(), format="json").json()
    assert api.get_learner_awards(learner) == []
    with on_commit():
        response = client.post(reverse("openedx_microcred:v1:credential-publish", kwargs={"uuid": created["uuid"]}))
    assert response.status_code == 200
    assert [award.credential_slug for award in api.get_learner_awards(learner)] == ["new-badge"]


# --- Badge images -------------------------------------------------------------------------------


def test_upload_and_remove_a_badge_image(users, catalog):
    client = client_for(users["staff"])
    url = detail(catalog["c1-pass"], "credential-image")
    response = client.put(url, {"image": SimpleUploadedFile("c1.svg", SVG, content_type="image/svg+xml")},
                          format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["image"].startswith(f"http://127.0.0.1:8000/microcred/badges/{catalog['c1-pass'].uuid}/c1")
    assert Credential.objects.get(slug="c1-pass").image.read() == SVG
    removed = client.delete(url)
    assert removed.status_code == 200 and removed.json()["image"] is None
    assert not Credential.objects.get(slug="c1-pass").image


@pytest.mark.parametrize("files, message", [
    ({"image": SimpleUploadedFile("c1.gif", b"GIF89a\x01\x00;")}, "PNG or an SVG"),
    ({"image": SimpleUploadedFile("c1.png", PNG_SIGNATURE + b"\x00" * (MAX_BYTES + 1))}, "KiB"),
    ({}, "No file was submitted."),
])
def test_bad_badge_image_is_refused(users, catalog, files, message):
    response = client_for(users["staff"]).put(detail(catalog["c1-pass"], "credential-image"), files,
                                              format="multipart")
    assert response.status_code == 400
    assert any(message in text for text in response.json()["image"]), response.json()
    assert not Credential.objects.get(slug="c1-pass").image


@pytest.mark.parametrize("who, status", [("other_staff", 403), ("learner", 403), (None, 401)])
def test_others_cannot_upload_an_image(users, catalog, who, status):
    response = client_for(users.get(who)).put(
        detail(catalog["c1-pass"], "credential-image"), {"image": SimpleUploadedFile("c1.png", PNG)},
        format="multipart")
    assert response.status_code == status
    assert not Credential.objects.get(slug="c1-pass").image


# --- JWT ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("sign", [generate_asymmetric_jwt_token, generate_jwt_token], ids=["RS512", "HS256"])
def test_a_signed_jwt_authenticates(users, catalog, sign):
    token = sign(generate_unversioned_payload(users["staff"]))
    response = APIClient().get(LIST, {"course_key": C1}, HTTP_AUTHORIZATION=f"JWT {token}")
    assert response.status_code == 200 and slugs(response) == ["c1-grade", "c1-pass"]
    learner_token = sign(generate_unversioned_payload(users["learner"]))
    assert APIClient().get(LIST, {"course_key": C1}, HTTP_AUTHORIZATION=f"JWT {learner_token}").status_code == 403


def test_jwt_can_create(users):
    token = generate_asymmetric_jwt_token(generate_unversioned_payload(users["staff"]))
    response = APIClient().post(LIST, new(), format="json", HTTP_AUTHORIZATION=f"JWT {token}")
    assert response.status_code == 201
    assert Credential.objects.filter(slug="new-badge").exists()


def test_forged_or_expired_jwts_are_refused(users, catalog):
    payload = generate_unversioned_payload(users["global_staff"])
    forged = jwt.encode(payload, "not-the-issuer-secret-not-the-issuer-secret", algorithm="HS256")
    unsigned = jwt.encode(payload, None, algorithm="none")
    expired = generate_asymmetric_jwt_token({**payload, "iat": int(time.time()) - 7200,
                                             "exp": int(time.time()) - 3600})
    for token in (forged, unsigned, expired):
        response = APIClient().get(LIST, HTTP_AUTHORIZATION=f"JWT {token}")
        assert response.status_code == 401, token
        assert "results" not in response.json()


# --- OpenAPI schema -----------------------------------------------------------------------------


def _routes():
    """(OpenAPI path, view class) of every v1 route but the schema itself."""
    for pattern in v1_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        if pattern.name == "schema":
            continue
        route = re.sub(r"<\w+:(\w+)>", r"{\1}", str(pattern.pattern))
        yield "/microcred/api/v1/" + route, pattern.callback.cls


def test_openapi_schema_is_valid_and_lists_every_endpoint(db):
    response = APIClient().get(reverse("openedx_microcred:v1:schema"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    schema = response.json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    routes = dict(_routes())
    assert set(schema["paths"]) == set(routes)
    for path, view in routes.items():
        methods = {m for m in view.http_method_names if m not in ("options", "head") and hasattr(view, m)}
        assert set(schema["paths"][path]) == methods, path
        for operation in schema["paths"][path].values():
            assert {"jwtAuth": []} in operation["security"] and {"sessionAuth": []} in operation["security"]
    assert set(schema["paths"]["/microcred/api/v1/credentials/{uuid}/"]) == {"get", "put", "patch"}
    credential = schema["components"]["schemas"]["Credential"]["properties"]
    assert {"uuid", "slug", "state", "image", "is_stack", "requires", "platform_targets"} <= set(credential)
    assert schema["components"]["securitySchemes"]["jwtAuth"]["name"] == "Authorization"


def test_openapi_schema_as_yaml(db):
    response = APIClient().get(reverse("openedx_microcred:v1:schema"), HTTP_ACCEPT="application/yaml")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")
