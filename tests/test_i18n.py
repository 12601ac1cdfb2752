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

import ast
import gettext as gettext_module
import json
import re
import shutil
import struct
import types
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import trans_real
from lxml import html

import openedx_microcred
from openedx_microcred import backends, issuance
from openedx_microcred.awards import revoke_awards
from openedx_microcred.models import Award, Credential, Delivery
from openedx_microcred.openbadges import document
from openedx_microcred.settings import common as plugin_settings_module
from sandbox.host.models import Course, CourseAccessRole

from . import events
from .conftest import C1, C2, C3
from .studio.pages import form_data, stack_data
from .test_learner_pages import PNG, catalog, grace  # noqa: F401  (fixtures)
from .users import client_for, make_user

PACKAGE = Path(openedx_microcred.__file__).resolve().parent
LOCALE = PACKAGE / "conf" / "locale"
SOURCE = LOCALE / "en" / "LC_MESSAGES"
STATIC = PACKAGE / "static" / "openedx_microcred"
PSEUDO = "eo"
DOMAINS = ("django", "djangojs")


# --- Reading and writing catalogs --------------------------------------------------------------------


def read_po(path):
    """The entries of a .po file: dicts with msgctxt, msgid, msgid_plural, msgstr / msgstr[n] and flags."""
    entries, entry, key = [], {}, None

    def flush():
        nonlocal entry, key
        if "msgid" in entry:
            entries.append(entry)
        entry, key = {}, None

    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            flush()
        elif line.startswith("#~"):
            continue  # obsolete
        elif line.startswith("#,"):
            entry.setdefault("flags", set()).update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _space, value = line.partition(" ")
            if key in ("msgid", "msgctxt") and any(k.startswith("msgstr") for k in entry):
                flush()
                key = line.partition(" ")[0]
            entry[key] = ast.literal_eval(value)
    flush()
    return entries


def msgids(entries):
    """What a catalog asks translators for (the header aside)."""
    return {(e.get("msgctxt"), e["msgid"], e.get("msgid_plural")) for e in entries if e["msgid"]}


def header(entries):
    (first,) = [e for e in entries if e["msgid"] == ""]
    lines = [line for line in first["msgstr"].split("\n") if line]
    return dict(line.split(": ", 1) for line in lines)


def write_mo(messages, path):
    """A GNU .mo file of ``messages`` (catalog key → translation, as Python's gettext reads them)."""
    keys = sorted(messages, key=lambda k: k.encode())
    ids, strs, offsets = b"", b"", []
    for key in keys:
        key_bytes, value_bytes = key.encode(), messages[key].encode()
        offsets.append((len(ids), len(key_bytes), len(strs), len(value_bytes)))
        ids += key_bytes + b"\0"
        strs += value_bytes + b"\0"
    key_start = 7 * 4 + 16 * len(keys)
    value_start = key_start + len(ids)
    key_table = b"".join(struct.pack("<2I", length, start + key_start) for start, length, _s, _l in offsets)
    value_table = b"".join(struct.pack("<2I", length, start + value_start) for _s, _l, start, length in offsets)
    head = struct.pack("<7I", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + 8 * len(keys), 0, 0)
    Path(path).write_bytes(head + key_table + value_table + ids + strs)


# --- The pseudo-translation -------------------------------------------------------------------------

LOWER = "áƀćđéƒǵĥíĵķĺḿńóṕʠŕśŧúṽŵẋýź"
UPPER = "ÁɃĆĐÉƑǴĤÍĴĶĹḾŃÓṔɊŔŚŦÚṼŴẊÝŹ"
ACCENTED = str.maketrans("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", LOWER + UPPER)

# What must come through a translation unchanged.
PLACEHOLDER = re.compile(r"""
      %\([^)]*\)[-#0+ ]*\d*(?:\.\d+)?[a-zA-Z]      # %(name)s
    | %[-#0+]*\d*(?:\.\d+)?[sdifrx%]              # %s, %d, %%
    | \{[A-Za-z_]\w*(?:![rsa])?(?::[^{}]*)?\}     # {name}
    | <[^<>]*>                                    # HTML tags
    | &\#?\w+;                                    # HTML entities
""", re.VERBOSE)


def pseudo(text):
    """Every ASCII letter accented, placeholders, tags and entities kept."""
    kept = PLACEHOLDER.findall(text)
    parts = PLACEHOLDER.split(text)
    result = parts[0].translate(ACCENTED)
    for placeholder, part in zip(kept, parts[1:]):
        result += placeholder + part.translate(ACCENTED)
    return result


def test_the_pseudo_translation_keeps_placeholders_and_changes_every_letter():
    assert pseudo("Publish “%(title)s”?") == "Ṕúƀĺíśĥ “%(title)s”?"
    assert pseudo("%(percent)s %% done, %d of {course} <strong>now</strong> &amp; z") == \
        "%(percent)s %% đóńé, %d óƒ {course} <strong>ńóŵ</strong> &amp; ź"
    assert pseudo("Minimum grade (%)") == "Ḿíńíḿúḿ ǵŕáđé (%)"
    assert not re.search("[A-Za-z]", pseudo("The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX."))


def pseudo_catalog(entries):
    """catalog key → pseudo translation, with the header Python's gettext needs."""
    messages = {"": f"Content-Type: text/plain; charset=UTF-8\nLanguage: {PSEUDO}\n"
                    "Plural-Forms: nplurals=2; plural=(n != 1);\n"}
    for entry in entries:
        if not entry["msgid"]:
            continue
        key = entry["msgid"]
        if entry.get("msgctxt") is not None:
            key = f"{entry['msgctxt']}\x04{key}"
        if entry.get("msgid_plural") is not None:
            messages[f"{key}\0{entry['msgid_plural']}"] = f"{pseudo(entry['msgid'])}\0{pseudo(entry['msgid_plural'])}"
        else:
            messages[key] = pseudo(entry["msgid"])
    return messages


@pytest.fixture(scope="module")
def pseudo_locale_dir(tmp_path_factory):
    """A LOCALE_PATHS directory with the pseudo-translation of the committed source catalogs."""
    root = tmp_path_factory.mktemp("locale")
    for domain in DOMAINS:
        source = SOURCE / f"{domain}.po"
        if source.exists():
            target = root / PSEUDO / "LC_MESSAGES"
            target.mkdir(parents=True, exist_ok=True)
            write_mo(pseudo_catalog(read_po(source)), target / f"{domain}.mo")
    return root


def use_pseudo_language(settings, locale_dir):
    """Requests choose their language from Accept-Language, as in the LMS; the catalogs of ``locale_dir`` come first."""
    settings.LOCALE_PATHS = [str(locale_dir), *settings.LOCALE_PATHS]
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(middleware.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
                      "django.middleware.locale.LocaleMiddleware")
    settings.MIDDLEWARE = middleware


@pytest.fixture
def in_pseudo_language(settings, pseudo_locale_dir):
    """Pages in the pseudo-language of the committed catalogs."""
    use_pseudo_language(settings, pseudo_locale_dir)
    yield
    translation.deactivate()


# --- Reading a page -----------------------------------------------------------------------------------

SKIPPED_ELEMENTS = {"script", "style", "pre", "code", "textarea", "time"}
READ_ATTRIBUTES = ("alt", "title", "aria-label", "placeholder", "data-confirm-title", "data-confirm-text",
                   "data-confirm-button")
# URLs, email addresses and uuids.
DATA_PATTERNS = re.compile(r"https?://\S+|[\w.+-]+@[\w.-]+|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}")


def _skipped(element, page_language):
    """Whether ``element``'s text is not the page's to translate: inside a skipped element, or in another language."""
    for node in (element, *element.iterancestors()):
        if not isinstance(node.tag, str) or node.tag in SKIPPED_ELEMENTS:
            return True
        if node.get("lang") and node.tag != "html" and node.get("lang") != page_language:
            return True
    return False


def visible_texts(tree):
    """(where, text) of every text node and read attribute that is not skipped."""
    language = tree.get("lang")
    found = []
    for element in tree.iter():
        parent = element.getparent()
        if element.tail and element.tail.strip() and parent is not None and not _skipped(parent, language):
            found.append((f"after <{element.tag}>" if isinstance(element.tag, str) else "text", element.tail))
        if _skipped(element, language):
            continue
        if element.text and element.text.strip():
            found.append((f"<{element.tag} id={element.get('id')!r} class={element.get('class')!r}>", element.text))
        for attribute in READ_ATTRIBUTES:
            if element.get(attribute):
                found.append((f"<{element.tag} {attribute}>", element.get(attribute)))
        if element.tag == "input" and element.get("type") in ("submit", "button") and element.get("value"):
            found.append(("<input value>", element.get("value")))
    return found


def _leaves(node):
    if isinstance(node, dict):
        yield node
        for child in node.get("of") or ():
            yield from _leaves(child)


def data_values(*extra):
    """What the test put in the database (and the page shows as it is), longest first."""
    values = set(extra) | set(backends.PLATFORM_LABELS.values())
    for credential in Credential.objects.all():
        values |= {credential.title, credential.slug, credential.description, credential.org,
                   str(credential.course_key or ""), credential.assessment_type, credential.participation_form,
                   credential.quality_assurance, *(credential.learning_outcomes or [])}
        for leaf in _leaves(credential.criteria):
            values |= {leaf.get("mode") or "", *(leaf.get("modes") or [])}  # course mode slugs, e.g. "verified"
    for course in Course.objects.all():
        values |= {course.display_name, str(course.course_key), course.course_key.org, course.course_key.course}
    values |= set(CourseAccessRole.objects.values_list("org", flat=True))
    for user in get_user_model().objects.all():
        values |= {user.get_username(), user.email}
    for award in Award.objects.exclude(document=None):
        issuer = award.document["issuer"]
        values |= {issuer.get("name", ""), award.document["name"],
                   (issuer.get("address") or {}).get("addressCountryCode", ""),  # codes, shown as they are
                   award.document["credentialSubject"]["achievement"].get("inLanguage", ""),
                   award.document["credentialSubject"]["achievement"]["criteria"]["narrative"]}
    return sorted((v for v in values if v and v.strip()), key=len, reverse=True)


def untranslated(text, data):
    for value in data:
        text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", " ", text)
    text = DATA_PATTERNS.sub(" ", text)
    return re.search("[A-Za-z]", text) is not None


def assert_translated(response, *extra_data):
    """Every visible word of the page comes from the pseudo-translation, or is data."""
    assert response.status_code in (200, 400, 403, 404), response.status_code
    content = response.content.decode()
    tree = html.document_fromstring(content)
    assert tree.get("lang") == PSEUDO, "the page does not say which language it is in"
    data = data_values(*extra_data)
    left = [f"{where}: {text.strip()!r}" for where, text in visible_texts(tree) if untranslated(text, data)]
    assert not left, "not translated (mark these strings for translation):\n" + "\n".join(left)
    # The sanity of the check itself: the page did come out in the pseudo-translation.
    assert any(letter in content for letter in LOWER), "the pseudo-translation did not load"
    return tree


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


def test_the_public_credential_page_valid_and_revoked(in_pseudo_language, client, awarded, on_commit):  # noqa: F811
    award = awarded["basics"]
    tree = assert_translated(get(client, f"/microcred/credentials/{award.uuid}/"))
    assert having(tree, "section", "valid") and tree.xpath("//dl/dt")
    with on_commit():
        revoke_awards([award.pk], "misconduct", source=Award.RevocationSource.OPERATOR)
    tree = assert_translated(get(client, f"/microcred/credentials/{award.uuid}/"))
    assert having(tree, "section", "invalid")


def test_a_hidden_credential_for_its_holder_and_for_the_public(in_pseudo_language, client, awarded,  # noqa: F811
                                                              learner):
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


def test_studio_course_list(in_pseudo_language, studio_catalog, course_staff):  # noqa: F811
    tree = assert_translated(get(course_staff, studio_url("course", course_key=C1)))
    assert tree.get_element_by_id("credential-org-track") is not None  # the stacks elsewhere
    assert tree.get_element_by_id("credential-c2-stack") is not None
    assert tree.get_element_by_id("confirm-dialog") is not None


def test_studio_credential_forms(in_pseudo_language, studio_catalog, course_staff, org_staff):  # noqa: F811
    # The criteria builder and the platform picker are drawn on the server, in the page's language.
    tree = assert_translated(get(course_staff, studio_url("credential-new", course_key=C1)))
    assert tree.get_element_by_id("cb-0-type") is not None

    basics = studio_catalog["basics"]
    tree = assert_translated(get(course_staff, studio_url("credential-edit", uuid=basics.uuid)))
    assert tree.get_element_by_id("id_remove_image") is not None
    assert_translated(get(org_staff, studio_url("credential-edit", uuid=studio_catalog["org"].uuid) + f"?course={C1}"))


def test_studio_form_errors_and_messages(in_pseudo_language, studio_catalog, course_staff):  # noqa: F811
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


def test_studio_stack_form(in_pseudo_language, studio_catalog, course_staff):  # noqa: F811
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


def test_studio_stack_form_without_credentials(in_pseudo_language, studio, course_staff):  # noqa: F811
    tree = assert_translated(get(course_staff, studio_url("stack-new", course_key=C1)))
    assert not having(tree, "fieldset", "course-group")


def test_studio_preview(in_pseudo_language, studio_catalog, course_staff):  # noqa: F811

    for key in ("basics", "stack", "grade"):
        credential = studio_catalog[key]
        achievement = document.build_achievement(issuance.achievement_info(credential))
        tree = assert_translated(get(course_staff, studio_url("credential-preview", uuid=credential.uuid)),
                                 achievement["criteria"]["narrative"], achievement["achievementType"],
                                 achievement.get("inLanguage", ""),  # a language code, shown as it is
                                 *(part["name"] for part in achievement.get("stackComponent", [])),
                                 *(stack["name"] for stack in achievement.get("stackableInto", [])))
        assert tree.xpath("//article//dl[@class='details']/dt")


def test_studio_confirmations_and_refusals(in_pseudo_language, studio_catalog, course_staff,  # noqa: F811
                                          make_credential):
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
