"""
The pseudo-translation the translation tests render pages in (tests/test_i18n.py tells how): the
package's catalogs, reading and writing .po and .mo files, the accented "eo" catalog, and the check
that every visible word of a page came from it.
"""

import ast
import re
import struct
from pathlib import Path

from django.contrib.auth import get_user_model
from lxml import html

import openedx_microcred
from openedx_microcred import backends
from openedx_microcred.models import Award, Credential
from sandbox.host.models import Course, CourseAccessRole

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


def use_pseudo_language(settings, locale_dir):
    """Requests choose their language from Accept-Language, as in the LMS; the catalogs of ``locale_dir`` come first."""
    settings.LOCALE_PATHS = [str(locale_dir), *settings.LOCALE_PATHS]
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(middleware.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
                      "django.middleware.locale.LocaleMiddleware")
    settings.MIDDLEWARE = middleware


# --- Reading a page -----------------------------------------------------------------------------------

SKIPPED_ELEMENTS = {"script", "style", "pre", "code", "textarea", "time"}
READ_ATTRIBUTES = ("alt", "title", "aria-label", "placeholder", "data-confirm-title", "data-confirm-text",
                   "data-confirm-button")
# URLs, email addresses and uuids.
DATA_PATTERNS = re.compile(r"https?://\S+|[\w.+-]+@[\w.-]+|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}")


def _skipped(element, page_language):
    """Whether ``element`` is data (a script, code, a date) or in another language than the page."""
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
