"""
The Studio pages, run in the Studio host's URLs (sandbox.cms_urls): the course's credential list,
the credential form with its criteria JSON, badge upload and errors next to the fields, the stack
builder, the preview, publishing and archiving with a confirmation step, and who may do what.
"""

import json
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.http import urlencode

from openedx_microcred import issuance
from openedx_microcred.images import MAX_BYTES
from openedx_microcred.models import Credential
from openedx_microcred.openbadges import document
from sandbox.host.models import Course

from ..conftest import C1, C2
from ..users import client_for, make_user
from .pages import (
    browser_post,
    course_url,
    credential_url,
    field_text,
    form_data,
    messages_of,
    new_url,
    page,
    stack_data,
    stack_url,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64
OTHER_ORG_COURSE = "course-v1:OtherX+ML101+2026"


@pytest.fixture(autouse=True)
def studio(settings, tmp_path):
    """The Studio host's URLs (the plugin's cms_urls), uploads in a temporary directory."""
    settings.ROOT_URLCONF = "sandbox.cms_urls"
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def other_staff(db):
    """Staff of C2, not of C1."""
    return client_for(make_user("other", ("DemoX", C2, "instructor")))


# --- Who may see the pages ---------------------------------------------------------------------


def test_pages_need_a_signed_in_user(db):
    response = Client().get(course_url())
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert Client().get("/login/").status_code == 200  # the Studio host signs people in on its own


def test_another_courses_staff_gets_403_everywhere(course_staff, other_staff, make_credential):
    credential = make_credential("py-basics", {"type": "course_passed", "course": C1}, course_key=C1,
                                 state=Credential.State.DRAFT)
    for url in (course_url(), new_url(), stack_url()):
        response = other_staff.get(url)
        assert response.status_code == 403, url
        assert f"You are not on the team of {C1}" in response.content.decode()
    for url in (credential_url("edit", credential), credential_url("preview", credential),
                credential_url("publish", credential), credential_url("archive", credential)):
        response = other_staff.get(url)
        assert response.status_code == 403, url
        assert "You cannot manage this credential" in response.content.decode()
    response = other_staff.post(credential_url("publish", credential), {"confirm": "yes"})
    assert response.status_code == 403
    response = other_staff.post(new_url(), form_data(slug="sneaky"))
    assert response.status_code == 403
    credential.refresh_from_db()
    assert credential.state == Credential.State.DRAFT
    assert not Credential.objects.filter(slug="sneaky").exists()


def test_a_bad_course_key_is_a_400_with_a_message(course_staff):
    response = course_staff.get(course_url("not-a-course"))
    assert response.status_code == 400
    assert "“not-a-course” is not a valid course key." in response.content.decode()


def test_an_unknown_credential_is_a_404(course_staff):
    response = course_staff.get("/microcred/studio/credentials/00000000-0000-4000-8000-000000000000/edit/")
    assert response.status_code == 404
    assert "There is no credential with this id." in response.content.decode()


# --- The course's list --------------------------------------------------------------------------


def test_the_list_shows_credentials_stacks_and_actions(course_staff, make_credential):
    make_credential("py-basics", {"type": "course_passed", "course": C1}, title="Python Basics", course_key=C1)
    make_credential("py-stack", {"type": "credential", "credential": "py-basics"}, title="Python Stack",
                    course_key=C1, stack_kind="vertical", state=Credential.State.DRAFT)
    make_credential("org-stack", {"type": "credential", "credential": "py-basics"}, title="Org Track")
    make_credential("elsewhere", {"type": "course_passed", "course": C2}, course_key=C2)
    make_credential("c2-stack", {"type": "all", "of": [{"type": "credential", "credential": "py-basics"},
                                                       {"type": "credential", "credential": "elsewhere"}]},
                    course_key=C2)
    response = course_staff.get(course_url())
    assert response.status_code == 200
    tree = page(response)
    assert "Python Basics (course-v1:DemoX+PY101+2026)" in tree.findtext(".//h1")
    basics = tree.get_element_by_id("credential-py-basics").text_content()
    assert "Active" in basics and "Not a stack" in basics and "Archive" in basics and "Publish" not in basics
    stack = tree.get_element_by_id("credential-py-stack").text_content()
    assert "Draft" in stack and "Vertical" in stack and "Python Basics" in stack and "Publish" in stack
    # The organization's stack built on this course is listed apart; only its staff manage it.
    org = tree.get_element_by_id("credential-org-stack").text_content()
    assert "organization-wide" in org and "Managed by the organization's staff" in org
    other_course = tree.get_element_by_id("credential-c2-stack").text_content()
    assert f"Managed by the team of {C2}" in other_course and "Edit" not in other_course
    assert "credential-elsewhere" not in response.content.decode()
    links = [a.text_content() for a in tree.iter("a")]
    assert "New credential" in links and "New stack" in links


def test_the_list_shows_each_credentials_badge_its_default_when_none_was_uploaded(course_staff, make_credential,
                                                                                  settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    basics = make_credential("py-basics", {"type": "course_passed", "course": C1}, title="Python Basics",
                             course_key=C1)
    tree = page(course_staff.get(course_url()))
    thumb = tree.get_element_by_id("credential-py-basics").find(".//img")
    assert thumb.get("class") == "badge-thumb" and thumb.get("alt") == ""
    # The LMS serves it (tests/test_images_default_badge.py): Studio's pages point there.
    assert thumb.get("src") == issuance.badge_image_url(basics) and "/default-" in thumb.get("src")


# --- Creating and editing a credential ------------------------------------------------------------


def test_create_a_credential_that_passing_the_course_earns(course_staff):
    form = course_staff.get(new_url())
    tree = page(form)
    for label in ("Title", "Slug", "Badge image", "Criteria (JSON)", "Learning outcomes", "Workload (hours)",
                  "ECTS credits", "EQF level", "Assessment type", "Participation form", "Quality assurance",
                  "The learner's identity is verified", "Validity (days)", "Revocation policy", "Stack kind",
                  "Badge platforms (JSON)"):
        [element] = [lab for lab in tree.iter("label") if lab.text_content().replace("(required)", "").strip() == label]
        assert tree.get_element_by_id(element.get("for")) is not None, label
    # The new form starts from "pass this course".
    assert json.loads(tree.get_element_by_id("id_criteria").text) == {"type": "course_passed", "course": C1}

    response = course_staff.post(new_url(), form_data())
    credential = Credential.objects.get(slug="py-basics")
    assert response.status_code == 302
    assert response["Location"] == credential_url("edit", credential)
    assert (credential.org, str(credential.course_key), credential.state) == ("DemoX", C1, "draft")
    assert credential.criteria == {"type": "course_passed", "course": C1}
    assert credential.learning_outcomes == ["Write small programs", "Use functions"]
    assert (credential.workload_hours, str(credential.ects_credits), credential.eqf_level) == (40, "1.5", 4)
    assert credential.identity_verified and credential.platform_targets == [] and credential.validity_days is None
    assert credential.course_dependencies.get().course_key == credential.course_key
    listing = course_staff.get(course_url())
    assert "“Python Basics” is saved as a draft." in " ".join(messages_of(response) + messages_of(listing))
    assert "credential-py-basics" in listing.content.decode()


def test_errors_are_shown_next_to_their_field_and_nothing_is_saved(course_staff, make_credential):
    make_credential("taken", {"type": "course_passed", "course": C1}, course_key=C1)
    response = course_staff.post(new_url(), form_data(
        slug="taken",  # uniqueness: from the model, through save_credential
        criteria=json.dumps({"type": "all", "of": [{"type": "credential", "credential": "nope"}]}),
        platform_targets='[{"template_id": "x"}]',
    ))
    assert response.status_code == 200
    assert Credential.objects.count() == 1
    targets = field_text(response, "platform_targets")
    assert "platform_targets[0]: an object with the name of a platform account" in targets

    response = course_staff.post(new_url(), form_data(
        slug="taken", criteria=json.dumps({"type": "all", "of": [{"type": "credential", "credential": "nope"}]})))
    assert Credential.objects.count() == 1
    assert "Credential with this Slug already exists." in field_text(response, "slug")
    assert "requires unknown credential 'nope'" in field_text(response, "criteria")
    tree = page(response)
    slug = tree.get_element_by_id("id_slug")
    assert slug.get("aria-invalid") == "true"
    assert slug.get("aria-describedby").split() == ["id_slug_helptext", "id_slug_error"]
    assert "Credential with this Slug already exists." in tree.get_element_by_id("id_slug_error").text_content()
    assert "id_criteria_error" in tree.get_element_by_id("id_criteria").get("aria-describedby")
    summary = tree.get_element_by_id("form-errors").text_content()
    assert "There are 2 problems" in summary and "Slug: Credential with this Slug already exists." in summary
    # What was typed is still there.
    assert tree.get_element_by_id("id_title").get("value") == "Python Basics"


@pytest.mark.parametrize("criteria, message", [
    ("{not json", "The criteria are not valid JSON"),
    (json.dumps({"type": "course_grade", "course": C1}), "criteria.min_percent: a minimum grade percent is required"),
    (json.dumps({"type": "at_least", "n": 3, "of": [{"type": "course_passed", "course": C1}]}),
     "criteria.n: must be a whole number from 1 to 1"),
])
def test_criteria_errors_say_where(course_staff, criteria, message):
    response = course_staff.post(new_url(), form_data(criteria=criteria))
    assert message in field_text(response, "criteria")
    assert not Credential.objects.exists()


def test_model_field_errors_land_on_their_fields(course_staff):
    response = course_staff.post(new_url(), form_data(eqf_level="9", workload_hours="-1", title=""))
    assert "Select a valid choice." in field_text(response, "eqf_level")
    assert "greater than or equal to 0" in field_text(response, "workload_hours")
    assert "This field is required." in field_text(response, "title")
    assert not Credential.objects.exists()


def test_a_png_badge_is_accepted_and_shown(course_staff, settings):
    response = course_staff.post(new_url(), form_data(image=SimpleUploadedFile("badge.png", PNG, "image/png")))
    assert response.status_code == 302
    credential = Credential.objects.get()
    assert credential.image.name.endswith(".png")
    edit = page(course_staff.get(credential_url("edit", credential)))
    [img] = edit.xpath('//figure[@class="current-badge"]/img')
    # The URL learners and the issued credential get: the LMS serves it (sandboxed), not Studio's media.
    assert img.get("src") == issuance.badge_image_url(credential) and img.get("alt")
    assert edit.get_element_by_id("id_remove_image") is not None
    settings.ROOT_URLCONF = "sandbox.urls"
    served = Client().get(urlsplit(img.get("src")).path)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"


@pytest.mark.parametrize("name, content, message", [
    ("badge.gif", GIF, "A badge image is a PNG or an SVG file."),
    ("badge.png", PNG + b"\x00" * MAX_BYTES, "at most 512 KiB is allowed"),
])
def test_a_bad_badge_is_refused_next_to_the_field(course_staff, name, content, message):
    response = course_staff.post(new_url(), form_data(image=SimpleUploadedFile(name, content)))
    assert response.status_code == 200
    assert message in field_text(response, "image")
    assert page(response).get_element_by_id("id_image").get("aria-invalid") == "true"
    assert not Credential.objects.exists()


def test_the_badge_can_be_replaced_and_removed(course_staff):
    course_staff.post(new_url(), form_data(image=SimpleUploadedFile("one.png", PNG)))
    credential = Credential.objects.get()
    first = credential.image.name
    data = form_data(image=SimpleUploadedFile("two.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'))
    assert course_staff.post(credential_url("edit", credential), data).status_code == 302
    credential.refresh_from_db()
    assert credential.image.name.endswith(".svg") and credential.image.name != first
    assert course_staff.post(credential_url("edit", credential), form_data(remove_image="on")).status_code == 302
    credential.refresh_from_db()
    assert not credential.image


def test_criteria_json_round_trips_through_the_form(course_staff, make_credential):
    make_credential("other", {"type": "course_passed", "course": C1}, title="Other One", course_key=C1)
    criteria = {"type": "all", "label": "The track", "of": [
        {"type": "course_grade", "course": C1, "min_percent": 72.5},
        {"type": "any", "of": [
            {"type": "credential", "credential": "other"},
            {"type": "at_least", "n": 1, "of": [
                {"type": "certificate", "course": C1, "mode": "verified"},
                {"type": "enrolled", "course": C1, "modes": ["verified", "professional"]},
                {"type": "course_completion", "course": C1, "min_percent": 80},
            ]},
        ]},
    ]}
    course_staff.post(new_url(), form_data(slug="track", criteria=json.dumps(criteria)))
    credential = Credential.objects.get(slug="track")
    assert credential.criteria == criteria
    tree = page(course_staff.get(credential_url("edit", credential)))
    textarea = tree.get_element_by_id("id_criteria")
    assert json.loads(textarea.text) == criteria
    # The builder shows the same tree, one row a requirement or group, with pickers.
    assert tree.get_element_by_id("cb-0-label").get("value") == "The track"
    assert tree.get_element_by_id("cb-1-min_percent").get("value") == "72.5"
    [chosen] = tree.get_element_by_id("cb-3-credential").xpath("option[@selected]")
    assert chosen.get("value") == "other" and chosen.text.startswith("Other One")
    assert "track" not in tree.get_element_by_id("cb-3-credential").xpath("option/@value")  # not itself
    assert tree.get_element_by_id("cb-6-modes").get("value") == "verified, professional"
    scripts = [s.get("src") for s in tree.iter("script") if s.get("src")]
    assert "/static/openedx_microcred/criteria-builder.js" in scripts
    # Saving the page unchanged, as a browser sends it (builder rows and JSON), keeps the criteria exactly.
    data = dict(browser_post(tree), slug="ignored")
    assert course_staff.post(credential_url("edit", credential), data).status_code == 302
    credential.refresh_from_db()
    assert credential.criteria == criteria and credential.slug == "track"  # the slug cannot change


def test_the_builder_script_and_styles_are_served(course_staff):
    for name in ("criteria-builder.js", "studio.js", "studio.css"):
        response = course_staff.get(f"/static/openedx_microcred/{name}")
        assert response.status_code == 200, name


def test_editing_keeps_the_slug_and_saves_the_rest(course_staff, make_credential):
    credential = make_credential("py-basics", {"type": "course_passed", "course": C1}, course_key=C1)
    form = page(course_staff.get(credential_url("edit", credential)))
    assert form.get_element_by_id("id_slug").get("disabled") is not None
    response = course_staff.post(credential_url("edit", credential),
                                 form_data(title="Renamed", slug="changed", validity_days="365"))
    assert response.status_code == 302
    credential.refresh_from_db()
    assert (credential.title, credential.slug, credential.validity_days) == ("Renamed", "py-basics", 365)
    assert credential.state == Credential.State.ACTIVE  # editing does not change the state


def test_course_staff_cannot_save_criteria_that_reach_into_another_course(course_staff, org_staff):
    data = form_data(criteria=json.dumps({"type": "course_passed", "course": C2}))
    response = course_staff.post(new_url(), data)
    assert response.status_code == 403
    assert "only the organization's staff can save them" in field_text(response, "criteria")
    assert not Credential.objects.exists()
    assert org_staff.post(new_url(), data).status_code == 302
    assert Credential.objects.get().criteria == {"type": "course_passed", "course": C2}


# --- The stack builder ----------------------------------------------------------------------------


def test_the_stack_builder_makes_a_two_level_vertical_stack(course_staff, make_credential):
    make_credential("py-basics", {"type": "course_passed", "course": C1}, title="Python Basics", course_key=C1)
    make_credential("py-grade", {"type": "course_grade", "course": C1, "min_percent": 80}, title="Python Grade",
                    course_key=C1, state=Credential.State.DRAFT)
    make_credential("ml-basics", {"type": "course_passed", "course": C2}, title="ML Basics", course_key=C2)
    make_credential("foreign", {"type": "course_passed", "course": OTHER_ORG_COURSE}, org="OtherX",
                    course_key=OTHER_ORG_COURSE)

    form = page(course_staff.get(stack_url()))
    legends = [legend.text_content().strip() for legend in form.iter("legend")]
    assert "Credentials in the stack" in legends
    assert "Python Basics (course-v1:DemoX+PY101+2026)" in legends  # grouped by course, this course first
    assert legends.index("Python Basics (course-v1:DemoX+PY101+2026)") < legends.index("course-v1:DemoX+PY102+2026")
    labels = {lab.text_content().strip(): lab.get("for") for lab in form.iter("label")}
    assert "Python Grade (py-grade) — draft" in labels and "ML Basics (ml-basics)" in labels
    assert not any("foreign" in label for label in labels)  # only the organization's credentials
    assert form.get_element_by_id(labels["Python Basics (py-basics)"]).get("value") == "py-basics"

    response = course_staff.post(stack_url(), stack_data(credentials=["py-basics"]))
    bronze = Credential.objects.get(slug="py-bronze")
    assert response.status_code == 302 and response["Location"] == credential_url("edit", bronze)
    assert bronze.criteria == {"type": "credential", "credential": "py-basics"}
    assert (bronze.stack_kind, bronze.state, str(bronze.course_key), bronze.org) == ("vertical", "draft", C1, "DemoX")

    response = course_staff.post(stack_url(), stack_data(
        title="Python Silver", slug="py-silver", credentials=["py-grade"], previous_level="py-bronze"))
    assert response.status_code == 302
    silver = Credential.objects.get(slug="py-silver")
    assert silver.criteria == {"type": "all", "of": [{"type": "credential", "credential": "py-bronze"},
                                                     {"type": "credential", "credential": "py-grade"}]}
    assert set(silver.requires.values_list("slug", flat=True)) == {"py-bronze", "py-grade"}
    listing = page(course_staff.get(course_url()))
    silver_row = listing.get_element_by_id("credential-py-silver").text_content()
    assert "Vertical" in silver_row and "Python Bronze" in silver_row and "Python Grade" in silver_row


def test_the_stack_builder_at_least_n_and_its_errors(course_staff, make_credential):
    for slug in ("a", "b", "c"):
        make_credential(slug, {"type": "course_passed", "course": C1}, course_key=C1)
    response = course_staff.post(stack_url(), stack_data(credentials=["a", "b"], mode="at_least", n="3"))
    assert "At most 2: only 2 credentials are chosen." in field_text(response, "n")
    response = course_staff.post(stack_url(), stack_data(credentials=[], previous_level="a"))
    assert "This field is required." in field_text(response, "credentials")
    response = course_staff.post(stack_url(), stack_data(credentials=["a"], previous_level="a"))
    assert "already one of the credentials chosen" in field_text(response, "previous_level")
    response = course_staff.post(stack_url(), stack_data(slug="a", credentials=["b"]))
    assert "Credential with this Slug already exists." in field_text(response, "slug")
    assert Credential.objects.count() == 3

    response = course_staff.post(stack_url(), stack_data(credentials=["a", "b", "c"], mode="at_least", n="2",
                                                         stack_kind="horizontal", previous_level=""))
    assert response.status_code == 302
    stack = Credential.objects.get(slug="py-bronze")
    assert stack.criteria == {"type": "at_least", "n": 2, "of": [
        {"type": "credential", "credential": s} for s in ("a", "b", "c")]}


def test_course_staff_cannot_build_a_cross_course_stack_but_org_staff_can(course_staff, org_staff, make_credential):
    make_credential("py-basics", {"type": "course_passed", "course": C1}, course_key=C1)
    make_credential("ml-basics", {"type": "course_passed", "course": C2}, course_key=C2)
    cross = stack_data(slug="data-track", credentials=["py-basics", "ml-basics"])
    response = course_staff.post(stack_url(), cross)
    assert response.status_code == 403
    assert "only the organization's staff can save them" in field_text(response, "credentials")
    response = course_staff.post(stack_url(), stack_data(slug="org-track", credentials=["py-basics"], owner="org"))
    assert response.status_code == 403
    assert "Only the organization's staff can save an organization-level stack." in field_text(response, "owner")
    assert not Credential.objects.filter(slug__in=["data-track", "org-track"]).exists()

    assert org_staff.post(stack_url(), cross).status_code == 302
    response = org_staff.post(stack_url(), stack_data(slug="org-track", credentials=["py-basics", "ml-basics"],
                                                      owner="org"))
    org_track = Credential.objects.get(slug="org-track")
    assert org_track.course_key is None and org_track.org == "DemoX"
    # An organization-wide stack's pages come back to the course it was made from.
    assert response["Location"] == credential_url("edit", org_track) + "?" + urlencode({"course": C1})
    edit = org_staff.get(response["Location"])
    assert edit.status_code == 200 and "Organization-wide credential of DemoX" in edit.content.decode()
    assert course_staff.get(credential_url("edit", org_track)).status_code == 403


# --- Preview ------------------------------------------------------------------------------------------


def test_the_preview_shows_the_achievement_the_credential_will_carry(course_staff, make_credential):
    make_credential("py-basics", {"type": "course_passed", "course": C1}, title="Python Basics", course_key=C1)
    course_staff.post(stack_url(), stack_data(credentials=["py-basics"]))
    stack = Credential.objects.get(slug="py-bronze")
    course_staff.post(credential_url("edit", stack), form_data(
        title="Python Bronze", criteria=json.dumps(stack.criteria), stack_kind="vertical",
        image=SimpleUploadedFile("bronze.png", PNG)))
    stack.refresh_from_db()
    response = course_staff.get(credential_url("preview", stack))
    assert response.status_code == 200
    expected = document.build_achievement(issuance.achievement_info(stack))
    tree = page(response)
    assert json.loads(tree.xpath("//pre[@class='json']")[0].text_content()) == expected
    assert tree.get_element_by_id("achievement-name").text == "Python Bronze"
    assert tree.xpath("//img[@class='badge-image large']")[0].get("src") == expected["image"]["id"]
    text = tree.text_content()
    assert "Earn Python Basics" in text  # the criteria narrative
    assert "Write small programs" in text and "40 hours" in text and "written examination" in text
    assert expected["achievementType"] == "MicroCredential" and "Python Basics" in text


# --- Publishing and archiving ---------------------------------------------------------------------


def test_publishing_asks_for_confirmation_first(course_staff, make_credential):
    credential = make_credential("py-basics", {"type": "course_passed", "course": C1}, title="Python Basics",
                                 course_key=C1, state=Credential.State.DRAFT)
    confirm = course_staff.get(credential_url("publish", credential))
    assert confirm.status_code == 200
    tree = page(confirm)
    assert "Publish “Python Basics”?" in tree.findtext(".//h1")
    [form] = [f for f in tree.iter("form") if f.get("action") == credential_url("publish", credential)]
    assert form.get("method") == "post"
    assert [b.text_content() for b in form.iter("button")] == ["Yes, publish"]
    credential.refresh_from_db()
    assert credential.state == Credential.State.DRAFT  # looking at the question changes nothing

    response = course_staff.post(credential_url("publish", credential))  # no confirmation: asked again
    assert response.status_code == 200
    credential.refresh_from_db()
    assert credential.state == Credential.State.DRAFT

    response = course_staff.post(credential_url("publish", credential), {"confirm": "yes"}, follow=True)
    credential.refresh_from_db()
    assert credential.state == Credential.State.ACTIVE
    assert response.redirect_chain[-1][0] == course_url()
    assert "“Python Basics” is published" in response.content.decode()


def test_the_list_offers_the_dialog_and_the_page(course_staff, make_credential):
    make_credential("py-basics", {"type": "course_passed", "course": C1}, course_key=C1, state="draft")
    tree = page(course_staff.get(course_url()))
    [link] = [a for a in tree.iter("a") if a.get("data-confirm") == "publish"]
    assert link.get("href").endswith("/publish/")  # works without JavaScript
    assert link.get("data-confirm-button") == "Yes, publish"
    dialog = tree.get_element_by_id("confirm-dialog")
    assert dialog.tag == "dialog" and dialog.xpath(".//input[@name='confirm'][@value='yes']")
    assert dialog.xpath(".//input[@name='csrfmiddlewaretoken']")


def test_a_stack_cannot_be_published_before_what_it_requires(course_staff, make_credential):
    make_credential("py-basics", {"type": "course_passed", "course": C1}, course_key=C1, state="draft")
    stack = make_credential("py-bronze", {"type": "credential", "credential": "py-basics"}, course_key=C1,
                            state="draft")
    response = course_staff.post(credential_url("publish", stack), {"confirm": "yes"}, follow=True)
    assert "Publish the credentials it requires first: py-basics." in response.content.decode()
    stack.refresh_from_db()
    assert stack.state == Credential.State.DRAFT


def test_archiving_is_blocked_while_an_active_stack_requires_it(course_staff, make_credential):
    basics = make_credential("py-basics", {"type": "course_passed", "course": C1}, course_key=C1)
    stack = make_credential("py-bronze", {"type": "credential", "credential": "py-basics"}, course_key=C1)
    confirm = page(course_staff.get(credential_url("archive", basics)))
    assert "Archive “Py Basics”?" in confirm.findtext(".//h1")
    response = course_staff.post(credential_url("archive", basics), {"confirm": "yes"}, follow=True)
    assert "Active stacks require this credential; archive them first: py-bronze." in response.content.decode()
    basics.refresh_from_db()
    assert basics.state == Credential.State.ACTIVE

    course_staff.post(credential_url("archive", stack), {"confirm": "yes"})
    response = course_staff.post(credential_url("archive", basics), {"confirm": "yes"}, follow=True)
    basics.refresh_from_db()
    assert basics.state == Credential.State.ARCHIVED
    assert "“Py Basics” is archived" in response.content.decode()


def test_course_staff_cannot_publish_a_stack_that_reaches_into_another_course(course_staff, make_credential):
    make_credential("ml-basics", {"type": "course_passed", "course": C2}, course_key=C2)
    stack = make_credential("cross", {"type": "credential", "credential": "ml-basics"}, course_key=C1,
                            state="draft")
    response = course_staff.post(credential_url("publish", stack), {"confirm": "yes"})
    assert response.status_code == 403
    stack.refresh_from_db()
    assert stack.state == Credential.State.DRAFT


# --- The builder and the picker, without JavaScript ------------------------------------------------


def _new_page(client, **query):
    response = client.get(new_url())
    assert response.status_code == 200
    return page(response)


def test_the_builder_adds_and_removes_rows_and_keeps_the_json_in_step(course_staff):
    tree = _new_page(course_staff)
    assert tree.get_element_by_id("cb-0-type").xpath("optgroup/option[@selected]/@value") == ["course_passed"]
    # "Combine with more requirements": the requirement becomes the first of a group, nothing saved.
    response = course_staff.post(new_url(), browser_post(tree, button=("cb-action", "combine-0"), title="T"))
    assert response.status_code == 200 and not Credential.objects.exists()
    tree = page(response)
    assert json.loads(tree.get_element_by_id("id_criteria").text) == {
        "type": "all", "of": [{"type": "course_passed", "course": C1}, {"type": "course_passed", "course": C1}]}
    assert "The requirement is now in a group" in tree.get_element_by_id("criteria-builder").text_content()
    assert tree.get_element_by_id("id_title").get("value") == "T"  # what was typed stays
    # Make the new row a grade requirement, show its fields, fill them in.
    data = browser_post(tree, button=("cb-action", "refresh"), **{"cb-2-type": "course_grade"})
    tree = page(course_staff.post(new_url(), data))
    assert tree.get_element_by_id("cb-2-min_percent") is not None
    data = browser_post(tree, button=("cb-action", "add-0"), **{"cb-2-min_percent": "80"})
    tree = page(course_staff.post(new_url(), data))
    assert len(json.loads(tree.get_element_by_id("id_criteria").text)["of"]) == 3
    tree = page(course_staff.post(new_url(), browser_post(tree, button=("cb-action", "remove-3"))))
    assert json.loads(tree.get_element_by_id("id_criteria").text)["of"][1] == {
        "type": "course_grade", "course": C1, "min_percent": 80}
    # Saving takes the builder's tree; the slug comes from the title when left empty.
    response = course_staff.post(new_url(), browser_post(tree, title="Python Basics, Graded", slug=""))
    assert response.status_code == 302
    credential = Credential.objects.get()
    assert credential.slug == "python-basics-graded"
    assert credential.criteria == {"type": "all", "of": [{"type": "course_passed", "course": C1},
                                                         {"type": "course_grade", "course": C1, "min_percent": 80}]}


def test_a_bad_builder_input_is_shown_next_to_it_and_nothing_is_saved(course_staff):
    tree = _new_page(course_staff)
    tree = page(course_staff.post(new_url(), browser_post(tree, button=("cb-action", "refresh"), title="Graded",
                                                          **{"cb-0-type": "course_grade"})))
    for typed, message in (("lots", "must be a number from 0 to 100, not 'lots'"),
                           ("150", "must be a number from 0 to 100, not 150")):
        response = course_staff.post(new_url(), browser_post(tree, **{"cb-0-min_percent": typed}))
        assert response.status_code == 200 and not Credential.objects.exists()
        result = page(response)
        [error] = result.get_element_by_id("cb-0-min_percent-error").xpath("li")
        assert message in error.text_content()  # once, next to the input
        assert result.get_element_by_id("cb-0-min_percent").get("aria-invalid") == "true"
        assert result.get_element_by_id("cb-0-min_percent").get("value") == typed  # kept as typed


def test_the_course_picker_offers_the_teams_courses(course_staff, org_staff):
    Course.objects.create(course_key=C2, display_name="Python Data")
    Course.objects.create(course_key=OTHER_ORG_COURSE, display_name="Other org")
    options = _new_page(course_staff).get_element_by_id("cb-0-course").xpath("option/@value")
    assert options == ["", C1]  # staff of C1 only
    options = _new_page(org_staff).get_element_by_id("cb-0-course").xpath("option/@value")
    assert options == ["", C1, C2]  # the organization's courses; never another organization's


def test_another_organizations_credential_is_refused_next_to_its_row(org_staff, make_credential, settings):
    make_credential("theirs", {"type": "course_passed", "course": OTHER_ORG_COURSE}, org="OtherX", title="Theirs")
    make_credential("ours", {"type": "course_passed", "course": C1}, course_key=C1, title="Ours")
    tree = _new_page(org_staff)
    tree = page(org_staff.post(new_url(), browser_post(tree, button=("cb-action", "refresh"), title="Python Basics",
                                                       **{"cb-0-type": "credential"})))
    offered = tree.get_element_by_id("cb-0-credential").xpath("option/@value")
    assert "ours" in offered and "theirs" not in offered
    response = org_staff.post(new_url(), browser_post(tree, **{"cb-0-credential": "theirs"}))
    assert response.status_code == 200 and not Credential.objects.filter(slug="python-basics").exists()
    error = page(response).get_element_by_id("cb-0-credential-error").text_content()
    assert "belongs to organization 'OtherX'" in error
    # Once an operator pairs the organizations, the picker offers it and saving works.
    settings.MICROCRED_ORGANIZATION_PAIRINGS = {"DemoX": ["OtherX"]}
    tree = page(org_staff.post(new_url(), browser_post(tree, button=("cb-action", "refresh"))))
    assert "theirs" in tree.get_element_by_id("cb-0-credential").xpath("option/@value")


def test_a_cycle_names_the_titles_next_to_the_builder(course_staff, make_credential):
    make_credential("first", {"type": "course_passed", "course": C1}, course_key=C1, title="First Level")
    make_credential("second", {"type": "credential", "credential": "first"}, course_key=C1, title="Second Level")
    first = Credential.objects.get(slug="first")
    tree = page(course_staff.get(credential_url("edit", first)))
    tree = page(course_staff.post(credential_url("edit", first), browser_post(
        tree, button=("cb-action", "refresh"), **{"cb-0-type": "credential"})))
    response = course_staff.post(credential_url("edit", first), browser_post(tree, **{"cb-0-credential": "second"}))
    errors = page(response).get_element_by_id("cb-0-credential-error").text_content()
    assert "dependency cycle “First Level” → “Second Level” → “First Level”" in errors
    first.refresh_from_db()
    assert first.criteria == {"type": "course_passed", "course": C1}


def test_edited_json_wins_over_the_rows_it_was_shown_with(course_staff):
    tree = _new_page(course_staff)
    typed = json.dumps({"type": "course_completion", "course": C1, "min_percent": 90})
    response = course_staff.post(new_url(), browser_post(tree, criteria=typed, title="Done", **{"cb-0-course": ""}))
    assert response.status_code == 302
    assert Credential.objects.get().criteria == {"type": "course_completion", "course": C1, "min_percent": 90}


def test_the_platform_picker_lists_the_accounts_templates(course_staff, platforms_with_basics, settings):
    credly, accredible = platforms_with_basics["credly"], platforms_with_basics["accredible"]
    settings.MICROCRED_PLATFORM_ACCOUNTS = {
        **settings.MICROCRED_PLATFORM_ACCOUNTS,
        "elsewhere": {**settings.MICROCRED_PLATFORM_ACCOUNTS["credly"], "organizations": ["OtherX"]},
    }
    tree = _new_page(course_staff)
    tree = page(course_staff.post(new_url(), browser_post(tree, button=("pt-action", "add"), title="Python Basics")))
    accounts = tree.get_element_by_id("pt-0-account").xpath("option/@value")
    assert accounts == ["", "accredible", "badgr", "credly", "obf"]  # not the account of another organization
    tree = page(course_staff.post(new_url(), browser_post(tree, button=("pt-action", "refresh"),
                                                          **{"pt-0-account": "credly"})))
    templates = tree.get_element_by_id("pt-0-template").xpath("option")
    assert [(o.get("value"), o.text) for o in templates[1:]] == [
        (credly.default_template_id, f"Python Foundations ({credly.default_template_id})")]
    # A template that is not the account's is refused next to the row.
    response = course_staff.post(new_url(), browser_post(tree, **{"pt-0-template": str(accredible.default_group_id)}))
    assert response.status_code == 200 and not Credential.objects.filter(slug="python-basics").exists()
    assert "is not one of the templates of account credly" in page(response).get_element_by_id(
        "pt-0-error").text_content()
    tree = page(course_staff.post(new_url(), browser_post(tree, button=("pt-action", "add"),
                                                          **{"pt-0-template": credly.default_template_id})))
    data = browser_post(tree, button=("pt-action", "refresh"), **{"pt-1-account": "accredible"})
    tree = page(course_staff.post(new_url(), data))
    groups = tree.get_element_by_id("pt-1-template").xpath("option/@value")
    assert str(accredible.default_group_id) in groups
    response = course_staff.post(new_url(), browser_post(tree, **{"pt-1-template": str(accredible.default_group_id)}))
    assert response.status_code == 302
    assert Credential.objects.get(slug="python-basics").platform_targets == [
        {"account": "credly", "template_id": credly.default_template_id},
        {"account": "accredible", "group_id": accredible.default_group_id}]


def test_a_badge_chosen_before_a_builder_button_is_kept_for_the_save(course_staff):
    tree = _new_page(course_staff)
    data = browser_post(tree, button=("cb-action", "combine-0"), title="With badge",
                        image=SimpleUploadedFile("badge.png", PNG, "image/png"))
    tree = page(course_staff.post(new_url(), data))
    assert "Badge image chosen: badge.png" in tree.get_element_by_id("pending-image").text_content()
    assert not Credential.objects.exists()
    assert course_staff.post(new_url(), browser_post(tree)).status_code == 302
    assert Credential.objects.get().image.name.endswith(".png")
    # Another user cannot use the token.
    other = client_for(make_user("intruder", ("DemoX", C1, "staff")))
    response = other.post(new_url(), browser_post(tree, title="Stolen", slug="stolen"))
    assert response.status_code == 302 and not Credential.objects.get(slug="stolen").image


def test_a_group_turned_into_a_requirement_keeps_what_it_holds_until_it_is_removed(course_staff):
    tree = _new_page(course_staff)
    tree = page(course_staff.post(new_url(), browser_post(tree, button=("cb-action", "combine-0"), title="T")))
    response = course_staff.post(new_url(), browser_post(tree, **{"cb-0-type": "course_passed", "cb-0-course": C1}))
    assert response.status_code == 200 and not Credential.objects.exists()
    result = page(response)
    assert "unknown field(s) of" in result.get_element_by_id("cb-0-course-error").text_content()
    assert len(json.loads(result.get_element_by_id("id_criteria").text)["of"]) == 2  # nothing dropped
