"""
The EU microcredential details as course teams and operators set them: controlled choices in
Studio, the admin and catalog files (nothing else accepted), the issuer's country required to
publish, the free text of earlier versions moved to terms or kept as a note, and what the issued
credential then carries.
"""

import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.core import checks as django_checks
from django.core.exceptions import ValidationError
from django.urls import reverse

from openedx_microcred import api, catalog, catalog_files, checks
from openedx_microcred.issuer import lms_root_url
from openedx_microcred.models import Award, Credential
from openedx_microcred.openbadges import jsonld

from . import events
from .conftest import C1
from .openbadges.edubadges import edubadges_differences
from .studio.pages import credential_url, field_text, form_data, new_url, page

PASS_C1 = {"type": "course_passed", "course": C1}
EU = {"learning_outcomes": ["Write small programs"], "workload_hours": 30, "ects_credits": 1, "eqf_level": 4,
      "assessment_type": "written-examination", "participation_form": "online", "supervision": "onsite-id-check",
      "identity_verified": True, "quality_assurance": "Reviewed by the board",
      "quality_assurance_framework": "DemoX Quality Board", "quality_assurance_code": "QB-12",
      "quality_assurance_url": "https://quality.example.org/decisions/QB-12"}


@pytest.fixture(autouse=True)
def studio_urls(settings, tmp_path):
    settings.ROOT_URLCONF = "sandbox.cms_urls"
    settings.MEDIA_ROOT = tmp_path


# --- Publishing needs the issuer's country ------------------------------------------------------


def test_a_credential_with_eu_details_cannot_be_published_without_the_issuers_country(db, settings):
    settings.MICROCRED_ISSUER = {"name": "Example University"}
    draft = catalog.save_credential(Credential(slug="eu", title="EU", org="DemoX", criteria=PASS_C1, **EU))
    with pytest.raises(ValidationError) as raised:
        catalog.publish_credential(draft)
    assert "makes the issuer's country mandatory" in " ".join(raised.value.messages)
    assert "MICROCRED_ISSUER['country']" in " ".join(raised.value.messages)
    assert Credential.objects.get(slug="eu").state == Credential.State.DRAFT  # nothing saved

    settings.MICROCRED_ISSUER = {"name": "Example University", "country": "nl"}
    with pytest.raises(ValidationError, match="ISO 3166-1 alpha-2"):
        catalog.publish_credential(Credential.objects.get(slug="eu"))

    # A credential without EU details is published as before.
    plain = catalog.save_credential(Credential(slug="plain", title="Plain", org="DemoX", criteria=PASS_C1))
    assert catalog.publish_credential(plain).state == Credential.State.ACTIVE

    settings.MICROCRED_ISSUER = {"name": "Example University", "country": "NL"}
    assert catalog.publish_credential(Credential.objects.get(slug="eu")).state == Credential.State.ACTIVE


def test_studio_says_why_publishing_is_refused(course_staff, make_credential, settings):
    settings.MICROCRED_ISSUER = {}
    credential = make_credential("py-basics", PASS_C1, course_key=C1, state="draft", **EU)
    response = course_staff.post(credential_url("publish", credential), {"confirm": "yes"}, follow=True)
    assert "makes the issuer&#x27;s country mandatory" in response.content.decode() or \
        "makes the issuer's country mandatory" in response.content.decode()
    credential.refresh_from_db()
    assert credential.state == Credential.State.DRAFT


def test_the_system_check_names_active_eu_credentials_without_a_country(make_credential, settings):
    make_credential("eu", PASS_C1, **EU)  # published while the country was set
    assert not [m for m in checks.check_eu_details() if m.id == "openedx_microcred.W013"]
    settings.MICROCRED_ISSUER = {}
    [warning] = [m for m in checks.check_eu_details() if m.id == "openedx_microcred.W013"]
    assert warning.level == django_checks.WARNING and "eu" in warning.msg


# --- Choices, and nothing else ------------------------------------------------------------------


@pytest.mark.parametrize("field, value", [
    ("assessment_type", "Online exam"), ("participation_form", "Online, self-paced"), ("supervision", "proctored"),
    ("language", "English"), ("language", "en_us"),
])
def test_a_value_outside_the_vocabulary_is_refused_by_the_model(db, field, value):
    credential = Credential(slug="eu", title="EU", org="DemoX", criteria=PASS_C1, **dict(EU, **{field: value}))
    with pytest.raises(ValidationError) as raised:
        catalog.save_credential(credential)
    assert field in raised.value.message_dict
    assert not Credential.objects.exists()


def test_a_supervision_that_contradicts_identity_verified_is_refused(db):
    with pytest.raises(ValidationError) as raised:
        catalog.save_credential(Credential(slug="eu", title="EU", org="DemoX", criteria=PASS_C1,
                                           **{**EU, "supervision": "onsite-id-check", "identity_verified": False}))
    assert "tick “identity verified”" in raised.value.message_dict["identity_verified"][0]


def test_studio_offers_the_terms_and_refuses_other_values(course_staff):
    form = page(course_staff.get(new_url()))
    options = {o.get("value"): o.text_content() for o in form.xpath('//select[@name="participation_form"]/option')}
    assert options[""] == "Not given" and options["online"] == "Online" and options["blended"] == "Blended"
    assert "written-examination" in form.xpath('//select[@name="assessment_type"]/option/@value')
    assert "onsite-id-check" in form.xpath('//select[@name="supervision"]/option/@value')
    assert not form.xpath('//*[@name="eu_notes"]')  # only a credential with notes has the field

    response = course_staff.post(new_url(), form_data(participation_form="Online, self-paced"))
    assert response.status_code == 200
    assert "Select a valid choice" in field_text(response, "participation_form")
    assert not Credential.objects.exists()

    response = course_staff.post(new_url(), form_data(
        supervision="onsite-id-check", language="nl-NL", quality_assurance_framework="DemoX Quality Board",
        quality_assurance_code="QB-12", quality_assurance_url="https://quality.example.org/QB-12"))
    assert response.status_code == 302
    saved = Credential.objects.get(slug="py-basics")
    assert (saved.assessment_type, saved.participation_form, saved.supervision, saved.language) == (
        "written-examination", "online", "onsite-id-check", "nl-NL")
    assert (saved.quality_assurance_framework, saved.quality_assurance_code, saved.quality_assurance_url) == (
        "DemoX Quality Board", "QB-12", "https://quality.example.org/QB-12")


def test_the_admin_offers_the_terms(admin_client, make_credential):
    credential = make_credential("eu", PASS_C1, **EU)
    response = admin_client.get(reverse("admin:openedx_microcred_credential_change", args=[credential.pk]))
    tree = page(response)
    assert "presential" in tree.xpath('//select[@name="participation_form"]/option/@value')
    assert "supervised-online" in tree.xpath('//select[@name="supervision"]/option/@value')


def test_a_catalog_file_with_free_text_is_refused_with_the_field_named(db):
    entry = {"slug": "eu", "title": "EU", "org": "DemoX", "criteria": PASS_C1, "assessment_type": "Online exam"}
    refused = r"\(eu\): assessment_type: Value 'Online exam' is not a valid"
    with pytest.raises(catalog_files.InvalidCatalog, match=refused):
        catalog_files.load_catalog([entry])
    assert not Credential.objects.exists()


# --- The free text of earlier versions ----------------------------------------------------------


def test_the_migration_maps_known_texts_to_terms_and_keeps_the_rest_as_a_note(db):
    migration = importlib.import_module("openedx_microcred.migrations.0012_eu_vocabularies")
    stored = {  # what earlier versions stored: free text, written without validation as they allowed
        "a": ("Auto-graded exercises and a final online exam (pass mark 60 %).", "Online, self-paced"),
        "b": ("Graded assignments and a proctored final exam", "Blended: online and on campus"),
        "c": ("Oral exam", "In person, on campus"),
        "d": ("portfolio", "online"),
        "e": ("", ""),
    }
    for slug, (assessment, participation) in stored.items():
        Credential.objects.create(slug=slug, title=slug, org="DemoX", criteria=PASS_C1, assessment_type=assessment,
                                  participation_form=participation)
    migration.free_text_to_terms(django_apps, None)

    def row(slug):
        c = Credential.objects.get(slug=slug)
        return c.assessment_type, c.participation_form, c.eu_notes

    assert row("a") == ("written-examination", "online", "")
    assert row("b") == ("", "blended", "Assessment type (free text before the choices): "
                                       "Graded assignments and a proctored final exam")
    assert row("c") == ("oral-examination", "presential", "")
    assert row("d") == ("portfolio", "online", "")
    assert row("e") == ("", "", "")
    for slug in stored:
        Credential.objects.get(slug=slug).full_clean()  # every migrated credential is valid

    # The note stays visible: in Studio next to the choices, and in the system check.
    [warning] = [m for m in checks.check_eu_details() if m.id == "openedx_microcred.W014"]
    assert "b" in warning.msg and "a," not in warning.msg


def test_studio_shows_a_note_and_keeps_it_until_cleared(course_staff, make_credential):
    credential = make_credential("py-basics", PASS_C1, course_key=C1, state="draft",
                                 eu_notes="Assessment type (free text before the choices): Graded assignments")
    response = course_staff.get(credential_url("edit", credential))
    assert "Graded assignments" in field_text(response, "eu_notes")
    data = form_data(eu_notes="Assessment type (free text before the choices): Graded assignments",
                     assessment_type="marked-assignment")
    assert course_staff.post(credential_url("edit", credential), data).status_code == 302
    credential.refresh_from_db()
    assert credential.assessment_type == "marked-assignment" and credential.eu_notes
    assert course_staff.post(credential_url("edit", credential), form_data(eu_notes="")).status_code == 302
    credential.refresh_from_db()
    assert credential.eu_notes == ""


# --- What the issued credential carries ---------------------------------------------------------


def test_an_issued_eu_credential_has_its_image_address_language_and_terms(learner, make_credential, on_commit,
                                                                          settings, client):
    settings.MICROCRED_ISSUER = {"country": "NL", "country_name": "Netherlands", "locality": "Utrecht",
                                 "street_address": "Heidelberglaan 15", "postal_code": "3584 CS",
                                 "institution_code": "30GB", "institution_code_type": "ext:BRIN"}
    settings.LANGUAGE_CODE = "en-us"
    settings.ROOT_URLCONF = "sandbox.urls"  # the LMS, where the badge images are served
    make_credential("eu", {"type": "all", "of": [PASS_C1, {"type": "course_grade", "course": C1, "min_percent": 50}]},
                    title="EU", description="An EU microcredential.", **EU)
    with on_commit():
        events.grade(learner.id, C1, 0.8, passed=True)
        events.passing(learner, C1)
    document = Award.objects.get(credential__slug="eu").document
    assert document is not None and api.verify_credential(document).valid
    assert jsonld.undefined_terms(document) == []
    achievement = document["credentialSubject"]["achievement"]
    assert achievement["inLanguage"] == "en-US"
    assert document["issuer"]["address"]["addressCountryCode"] == "NL"
    assert document["issuer"]["otherIdentifier"][0]["identifier"] == "30GB"
    assert achievement["learningMode"]["id"] == "http://data.europa.eu/snb/learning-assessment/920fbb3cbe"
    assert edubadges_differences(document) == ["achievement: one of ECTS, SBU"]

    # No badge was uploaded: the achievement carries the default one, which the plugin serves.
    image = achievement["image"]["id"]
    assert re.search(r"/default-[0-9a-f]{20}\.svg$", image), image
    response = client.get(image.replace(lms_root_url(), ""))
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"<svg" in b"".join(response.streaming_content)


def test_the_admin_publish_action_refuses_eu_details_without_the_issuers_country(admin_client, make_credential,
                                                                                 settings):
    settings.ROOT_URLCONF = "sandbox.urls"
    settings.MICROCRED_ISSUER = {}
    eu = make_credential("eu", PASS_C1, state="draft", **EU)
    plain = make_credential("plain", PASS_C1, state="draft")
    response = admin_client.post(reverse("admin:openedx_microcred_credential_changelist"),
                                 {"action": "publish", "_selected_action": [eu.pk, plain.pk]}, follow=True)
    text = " ".join(str(m) for m in response.context["messages"])
    assert "'eu' was not published" in text and "makes the issuer's country mandatory" in text
    eu.refresh_from_db()
    plain.refresh_from_db()
    assert (eu.state, plain.state) == (Credential.State.DRAFT, Credential.State.ACTIVE)
