"""
Every word the plugin shows is marked for translation, and the committed source catalogs are what
the code marks (docs/translations.md).

How the pages are checked: the committed English catalog (conf/locale/en/LC_MESSAGES/django.po) is
turned into a pseudo-translation for "eo", as edx-i18n-tools' ``i18n_tool dummy`` does for Open edX:
every ASCII letter of every message becomes an accented look-alike ("Publish" → "Ṕúƀĺíśĥ"), while
placeholders (%(name)s, {name}), HTML tags and entities are kept. It is compiled into a temporary
LOCALE_PATHS directory, and every page of the plugin is rendered with ``Accept-Language: eo``
through LocaleMiddleware, as the LMS and Studio serve them. A string that was not marked (or not
extracted, or translated too early, at import time) still has ASCII letters in the page. So the
test reads every visible text node and the attributes people or assistive technology are given
(alt, title, aria-label, placeholder, and the texts studio.js puts in its dialog), takes out what
the test itself put in the database (titles, slugs, course keys and names, usernames, the
credential's own signed content), and fails on any ASCII letter that is left.

Skipped while reading: <script> and <style>, <pre>/<code>/<textarea> (JSON, slugs, ids: data),
<time> (dates, which Django formats in its own words), and elements whose ``lang`` declares another
language than the page's.
"""

import gettext as gettext_module
import json
import re
import shutil
import types
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import trans_real

from openedx_microcred import issuance
from openedx_microcred.awards import revoke_awards
from openedx_microcred.models import Award, Credential, Delivery
from openedx_microcred.openbadges import document
from openedx_microcred.settings import common as plugin_settings_module
from sandbox.host.models import Course

from . import events
from .conftest import C1, C2, C3, PNG
from .i18n import (
    DOMAINS,
    LOCALE,
    PACKAGE,
    PSEUDO,
    SOURCE,
    STATIC,
    assert_translated,
    header,
    msgids,
    pseudo,
    read_po,
    untranslated,
    use_pseudo_language,
)
from .studio.pages import form_data, stack_data
from .users import client_for, make_user

# --- The pseudo-translation -------------------------------------------------------------------------


def test_the_pseudo_translation_keeps_placeholders_and_changes_every_letter():
    assert pseudo("Publish “%(title)s”?") == "Ṕúƀĺíśĥ “%(title)s”?"
    assert pseudo("%(percent)s %% done, %d of {course} <strong>now</strong> &amp; z") == \
        "%(percent)s %% đóńé, %d óƒ {course} <strong>ńóŵ</strong> &amp; ź"
    assert pseudo("Minimum grade (%)") == "Ḿíńíḿúḿ ǵŕáđé (%)"
    assert not re.search("[A-Za-z]", pseudo("The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX."))


@pytest.fixture
def in_pseudo_language(settings, pseudo_locale_dir):
    """Pages in the pseudo-language of the committed catalogs."""
    use_pseudo_language(settings, pseudo_locale_dir)
    yield
    translation.deactivate()


# --- Reading a page -----------------------------------------------------------------------------------


def having(tree, tag, css_class):
    """The ``tag`` elements with ``css_class`` among their classes."""
    return tree.xpath(f"//{tag}[contains(concat(' ', normalize-space(@class), ' '), ' {css_class} ')]")


def get(client, url, **kwargs):
    return client.get(url, HTTP_ACCEPT_LANGUAGE=PSEUDO, **kwargs)


def post(client, url, data, **kwargs):
    return client.post(url, data, HTTP_ACCEPT_LANGUAGE=PSEUDO, **kwargs)


# --- The learner's pages (LMS) ------------------------------------------------------------------------


def test_my_credentials_with_badges_stacks_levels_and_next_steps(in_pseudo_language, client, catalog, learner,
                                                                 on_commit, settings):
    with on_commit():
        events.passing(learner, C1, time=events.at(1))  # foundations and bronze earned
        events.grade(learner.pk, C2, 0.6, time=events.at(2))  # analysis at 75 %
        events.enrollment(learner, C3, time=events.at(3))  # ml started
    now = timezone.now()
    Award.objects.filter(credential__slug="bronze").update(expires_at=now - timedelta(days=1))
    Award.objects.filter(credential__slug="foundations").update(expires_at=now + timedelta(days=30))
    settings.MICROCRED_PLATFORM_ACCOUNTS = {"credly": {"backend": "credly", "base_url": "https://api.credly.com/v1/",
                                                       "organizations": ["DemoX"]}}
    Delivery.objects.create(award=Award.objects.get(credential__slug="foundations"), account="credly",
                            platform="credly", state=Delivery.State.DELIVERED, external_id="b1", next_attempt_at=now)
    client.force_login(learner)
    tree = assert_translated(get(client, "/microcred/my/"))
    # What the page had to show for the check to mean something.
    for tag, css_class in (("li", "badge-card"), ("li", "progress-card"), ("ol", "levels"), ("ul", "stack-parts"),
                           ("ul", "next-steps"), ("ul", "share-actions")):
        assert having(tree, tag, css_class), css_class
    assert any(a.get("href", "").startswith("https://www.credly.com/") for a in tree.iter("a"))


def test_my_credentials_empty_and_all_earned(in_pseudo_language, client, catalog, grace, learner, on_commit):
    client.force_login(grace)
    tree = assert_translated(get(client, "/microcred/my/"))
    assert len(having(tree, "p", "empty-state")) == 2
    Credential.objects.exclude(slug="foundations").delete()
    with on_commit():
        events.passing(learner, C1)
    client.force_login(learner)
    tree = assert_translated(get(client, "/microcred/my/"))
    assert having(tree, "li", "badge-card") and having(tree, "p", "empty-state")


def test_the_public_credential_page_valid_and_revoked(in_pseudo_language, client, awarded, on_commit):
    award = awarded["basics"]
    tree = assert_translated(get(client, f"/microcred/credentials/{award.uuid}/"))
    assert having(tree, "section", "valid") and tree.xpath("//dl/dt")
    with on_commit():
        revoke_awards([award.pk], "misconduct", source=Award.RevocationSource.OPERATOR)
    tree = assert_translated(get(client, f"/microcred/credentials/{award.uuid}/"))
    assert having(tree, "section", "invalid")


def test_a_hidden_credential_for_its_holder_and_for_the_public(in_pseudo_language, client, awarded, learner):
    award = awarded["basics"]
    client.force_login(learner)
    response = post(client, reverse("openedx_microcred:credential-visibility", kwargs={"award_uuid": award.uuid}),
                    {"hidden": "1"}, follow=True)
    assert having(assert_translated(response), "li", "message")  # My credentials, with the message
    assert assert_translated(get(client, f"/microcred/credentials/{award.uuid}/")).xpath("//*[@data-hidden='true']")
    client.logout()
    response = get(client, f"/microcred/credentials/{award.uuid}/")
    assert response.status_code == 404
    assert assert_translated(response).xpath("//*[@data-unavailable='hidden']")


def test_a_credential_that_cannot_be_issued_yet_says_so_in_the_language(in_pseudo_language, client, learner,
                                                                        make_credential, on_commit):
    learner.email = ""
    learner.save()
    make_credential("basics", {"type": "course_passed", "course": C1})
    with on_commit():
        events.passing(learner, C1)
    response = get(client, f"/microcred/credentials/{Award.objects.get().uuid}/")
    assert response.status_code == 503
    assert not untranslated(response.content.decode(), [])


# --- Studio -------------------------------------------------------------------------------------------


@pytest.fixture
def studio(settings, tmp_path):
    settings.ROOT_URLCONF = "sandbox.cms_urls"
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def studio_url(name, **kwargs):
    return reverse(f"openedx_microcred:studio-{name}", kwargs=kwargs)


@pytest.fixture
def studio_catalog(studio, course_staff, make_credential):
    """Credentials of C1 in every state, a stack, an organization-wide stack and one of another course."""
    Course.objects.create(course_key=C2, display_name="Data Analysis")
    made = {
        "basics": make_credential("py-basics", {"type": "course_passed", "course": C1}, title="Python Basics",
                                  course_key=C1, description="Writes small programs.",
                                  learning_outcomes=["Write small programs"], workload_hours=40, ects_credits=1.5,
                                  eqf_level=4, assessment_type="written-examination", participation_form="online",
                                  quality_assurance="Reviewed by the board.", identity_verified=True,
                                  validity_days=365, image=SimpleUploadedFile("basics.png", PNG)),
        "grade": make_credential("py-grade", {"type": "course_grade", "course": C1, "min_percent": 80},
                                 title="Python Grade", course_key=C1, state=Credential.State.DRAFT),
        "stack": make_credential("py-stack", {"type": "credential", "credential": "py-basics"}, title="Python Stack",
                                 course_key=C1, stack_kind="vertical", state=Credential.State.DRAFT),
        "org": make_credential("org-track", {"type": "credential", "credential": "py-basics"}, title="Org Track",
                               stack_kind="horizontal"),
        "c2": make_credential("c2-basics", {"type": "course_passed", "course": C2}, course_key=C2),
        "c2_stack": make_credential("c2-stack", {"type": "all", "of": [
            {"type": "credential", "credential": "py-basics"}, {"type": "credential", "credential": "c2-basics"}]},
            course_key=C2),
        "archived": make_credential("py-old", {"type": "course_passed", "course": C1}, title="Python Old",
                                    course_key=C1, state=Credential.State.ARCHIVED),
    }
    return made


def test_studio_course_list(in_pseudo_language, studio_catalog, course_staff):
    tree = assert_translated(get(course_staff, studio_url("course", course_key=C1)))
    assert tree.get_element_by_id("credential-org-track") is not None  # the stacks elsewhere
    assert tree.get_element_by_id("credential-c2-stack") is not None
    assert tree.get_element_by_id("confirm-dialog") is not None


def test_studio_credential_forms(in_pseudo_language, studio_catalog, course_staff, org_staff):
    # The criteria builder and the platform picker are drawn on the server, in the page's language.
    tree = assert_translated(get(course_staff, studio_url("credential-new", course_key=C1)))
    assert tree.get_element_by_id("cb-0-type") is not None

    basics = studio_catalog["basics"]
    tree = assert_translated(get(course_staff, studio_url("credential-edit", uuid=basics.uuid)))
    assert tree.get_element_by_id("id_remove_image") is not None
    assert_translated(get(org_staff, studio_url("credential-edit", uuid=studio_catalog["org"].uuid) + f"?course={C1}"))


def test_studio_form_errors_and_messages(in_pseudo_language, studio_catalog, course_staff):
    criteria = {"type": "all", "of": [{"type": "credential", "credential": "nope"},
                                      {"type": "course_grade", "course": C1, "min_percent": 200}]}
    response = post(course_staff, studio_url("credential-new", course_key=C1), form_data(
        slug="new-one", criteria=json.dumps(criteria), platform_targets='[{"template_id": "x"}, 3]'))
    tree = assert_translated(response, "criteria.of[1].min_percent", "200", "nope", "platform_targets[0]",
                             "platform_targets[1]")
    assert tree.get_element_by_id("form-errors") is not None

    response = post(course_staff, studio_url("credential-new", course_key=C1), form_data(
        slug="new-one", criteria=json.dumps({"type": "credential", "credential": "nope"})))
    assert_translated(response, "criteria", "nope")
    response = post(course_staff, studio_url("credential-new", course_key=C1),
                    form_data(slug="new-one", criteria=json.dumps({"type": "course_passed", "course": C2})))
    assert response.status_code == 403
    assert_translated(response)

    response = post(course_staff, studio_url("credential-new", course_key=C1), form_data(slug="new-one"),
                    follow=True)
    tree = assert_translated(response)
    assert having(tree, "li", "message")
    new = Credential.objects.get(slug="new-one")
    response = post(course_staff, studio_url("credential-edit", uuid=new.uuid), form_data(title="Renamed"),
                    follow=True)
    assert_translated(response)


def test_studio_stack_form(in_pseudo_language, studio_catalog, course_staff):
    tree = assert_translated(get(course_staff, studio_url("stack-new", course_key=C1)))
    assert having(tree, "fieldset", "course-group")
    response = post(course_staff, studio_url("stack-new", course_key=C1),
                    stack_data(credentials=["py-basics", "py-grade"], mode="at_least", n=""))
    assert_translated(response)
    response = post(course_staff, studio_url("stack-new", course_key=C1),
                    stack_data(credentials=["py-basics", "py-grade"], mode="at_least", n="3",
                               previous_level="py-basics"))
    assert_translated(response)
    response = post(course_staff, studio_url("stack-new", course_key=C1),
                    stack_data(credentials=["py-basics"], owner="org"))
    assert response.status_code == 403
    assert_translated(response)
    response = post(course_staff, studio_url("stack-new", course_key=C1), stack_data(credentials=["py-basics"]),
                    follow=True)
    assert_translated(response)


def test_studio_stack_form_without_credentials(in_pseudo_language, studio, course_staff):
    tree = assert_translated(get(course_staff, studio_url("stack-new", course_key=C1)))
    assert not having(tree, "fieldset", "course-group")


def test_studio_preview(in_pseudo_language, studio_catalog, course_staff):

    for key in ("basics", "stack", "grade"):
        credential = studio_catalog[key]
        achievement = document.build_achievement(issuance.achievement_info(credential))
        tree = assert_translated(get(course_staff, studio_url("credential-preview", uuid=credential.uuid)),
                                 achievement["criteria"]["narrative"], achievement["achievementType"],
                                 achievement.get("inLanguage", ""),  # a language code, shown as it is
                                 *(part["name"] for part in achievement.get("stackComponent", [])),
                                 *(stack["name"] for stack in achievement.get("stackableInto", [])))
        assert tree.xpath("//article//dl[@class='details']/dt")


def test_studio_confirmations_and_refusals(in_pseudo_language, studio_catalog, course_staff, make_credential):
    assert_translated(get(course_staff, studio_url("credential-publish", uuid=studio_catalog["stack"].uuid)))
    assert_translated(get(course_staff, studio_url("credential-archive", uuid=studio_catalog["basics"].uuid)))

    def messages_after(action, credential):
        response = post(course_staff, studio_url(f"credential-{action}", uuid=credential.uuid), {"confirm": "yes"},
                        follow=True)
        assert response.redirect_chain, response.status_code
        assert having(assert_translated(response), "li", "message")

    # Refused by the catalog: active stacks require it; it requires a draft.
    messages_after("archive", studio_catalog["basics"])
    on_draft = make_credential("grade-stack", {"type": "credential", "credential": "py-grade"}, title="Grade Stack",
                               course_key=C1, state=Credential.State.DRAFT)
    messages_after("publish", on_draft)
    # Done.
    messages_after("publish", studio_catalog["grade"])
    messages_after("archive", studio_catalog["grade"])

    # Refused by the permissions: 403 (not on the team; criteria reaching into another course), 404, 400.
    outsider = client_for(make_user("outsider"))
    response = get(outsider, studio_url("course", course_key=C1))
    assert response.status_code == 403
    assert_translated(response)
    assert_translated(get(outsider, studio_url("credential-edit", uuid=studio_catalog["basics"].uuid)))
    c2_team = client_for(make_user("c2staff", ("DemoX", C2, "staff")))
    response = post(c2_team, studio_url("credential-archive", uuid=studio_catalog["c2_stack"].uuid),
                    {"confirm": "yes"})
    assert response.status_code == 403
    assert_translated(response)
    response = get(course_staff, studio_url("credential-edit", uuid="00000000-0000-4000-8000-000000000000"))
    assert response.status_code == 404
    assert_translated(response)
    response = get(course_staff, studio_url("course", course_key="not-a-key"))
    assert response.status_code == 400
    assert_translated(response, "not-a-key")


# --- The JavaScript: its words come from the page -----------------------------------------------------


def test_the_scripts_show_no_words_of_their_own():
    """
    studio.js takes its dialog's words from data attributes; criteria-builder.js shows none (the server
    draws the builder).
    """
    for name in ("studio.js", "criteria-builder.js"):
        code = (STATIC / name).read_text(encoding="utf-8")
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", code, flags=re.DOTALL)  # comments
        # Text put into the page: textContent / createTextNode / innerHTML of a string literal.
        assert not re.search(r"(textContent|innerText|innerHTML)\s*=\s*[\"']\s*[A-Za-z]", code), name
        assert not re.search(r"createTextNode\(\s*[\"'][^\"']*[A-Za-z]", code), name
        # The builder's elements get words through t() only: no literal with letters and spaces
        # as a child of el(...).
        assert not re.search(r"el\(\"\w+\", \{[^}]*\}, \[\s*\"[^\"]*[A-Za-z][^\"]*\"", code), name


# --- The catalogs themselves --------------------------------------------------------------------------


def test_the_plugin_adds_its_catalogs_to_locale_paths():
    """The demo host, like the LMS and Studio, finds the plugin's catalogs (plugin_settings)."""
    assert plugin_settings_module.LOCALE_DIR == str(LOCALE)
    assert str(LOCALE) in map(str, django_settings.LOCALE_PATHS)
    assert str(LOCALE) in map(str, trans_real.all_locale_paths())
    assert (SOURCE / "django.po").is_file()


class _Derived:
    """Shaped like edx-platform's openedx.core.lib.derived.Derived."""

    def __init__(self, calculate_value):
        self.calculate_value = calculate_value


@pytest.mark.parametrize("locale_paths, expected", [
    ([], [str(LOCALE)]),
    (["/edx/app/edxapp/edx-platform/conf/locale"], ["/edx/app/edxapp/edx-platform/conf/locale", str(LOCALE)]),
    (("/platform/conf/locale",), ("/platform/conf/locale", str(LOCALE))),
    ([str(LOCALE), "/platform/conf/locale"], [str(LOCALE), "/platform/conf/locale"]),  # once only
])
def test_plugin_settings_append_the_catalogs_after_the_platforms(locale_paths, expected):
    host = types.SimpleNamespace(LOCALE_PATHS=locale_paths)
    plugin_settings_module.plugin_settings(host)
    plugin_settings_module.plugin_settings(host)
    assert host.LOCALE_PATHS == expected


def test_plugin_settings_extend_a_derived_locale_paths():
    """edx-platform computes LOCALE_PATHS once every setting is final (a Derived setting): so does the plugin."""
    host = types.SimpleNamespace(LOCALE_PATHS=_Derived(lambda final: [final.REPO_ROOT + "/conf/locale"]),
                                 REPO_ROOT="/edx-platform")
    plugin_settings_module.plugin_settings(host)
    assert isinstance(host.LOCALE_PATHS, _Derived)
    assert host.LOCALE_PATHS.calculate_value(host) == ["/edx-platform/conf/locale", str(LOCALE)]
    host = types.SimpleNamespace()
    plugin_settings_module.plugin_settings(host)
    assert host.LOCALE_PATHS == [str(LOCALE)]


def test_the_source_catalog_has_a_usable_header():
    """Python's gettext reads the catalog's header: a placeholder Plural-Forms would break every page."""
    for domain in DOMAINS:
        path = SOURCE / f"{domain}.po"
        if not path.exists():
            continue
        values = header(read_po(path))
        assert values["Language"] == "en"
        assert values["Content-Type"] == "text/plain; charset=UTF-8"
        plural = values["Plural-Forms"].split("plural=", 1)[1].rstrip(";")
        assert gettext_module.c2py(plural)(1) == 0 and gettext_module.c2py(plural)(2) == 1


@pytest.mark.skipif(shutil.which("xgettext") is None or shutil.which("msguniq") is None,
                    reason="GNU gettext (xgettext, msguniq) is not installed: cannot check the extraction")
def test_extraction_is_up_to_date(tmp_path, monkeypatch):
    """
    ``make extract_translations`` on the code as it is gives the committed catalogs' strings: a
    newly marked string, or one removed, fails here until the catalogs are extracted again.
    """
    copy = tmp_path / "openedx_microcred"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.po", "*.mo"))
    (copy / "conf" / "locale").mkdir(parents=True, exist_ok=True)  # makemessages writes into conf/locale
    monkeypatch.chdir(copy)
    problems = []
    for domain in DOMAINS:
        call_command("makemessages", locale=["en"], domain=domain, no_wrap=True, add_location="file",
                     no_obsolete=True, verbosity=0)
        fresh_path = copy / "conf" / "locale" / "en" / "LC_MESSAGES" / f"{domain}.po"
        fresh = msgids(read_po(fresh_path)) if fresh_path.exists() else set()
        committed = msgids(read_po(SOURCE / f"{domain}.po")) if (SOURCE / f"{domain}.po").exists() else set()
        if fresh != committed:
            problems.append(f"{domain}.po: new {sorted(m[1] for m in fresh - committed)}, "
                            f"gone {sorted(m[1] for m in committed - fresh)}")
    assert not problems, "run `make extract_translations` and commit the catalogs:\n" + "\n".join(problems)
