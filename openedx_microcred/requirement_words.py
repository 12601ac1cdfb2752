"""
A requirement in words: the one place a criteria tree (``rules``) becomes sentences.

Each leaf kind has one sentence (a translatable template with named placeholders) and each group
kind one heading; three renderers write them for their readers:

- ``text``: plain translated text, as learners read it on their pages (and reports label it);
- ``markdown``: the ``Criteria.narrative`` of a signed Open Badges 3.0 credential, in English
  whatever the request's language (what the issuer signed is not translated), names escaped;
- ``html``: the admin's reading of a tree, escaped, with the course and credential references
  the admin renders itself (it links them).

Pure: the names of courses, credentials and issuers are given by the callers, which look them up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Callable, Mapping

from django.utils import translation
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import rules

# The language of what goes into a signed credential.
DOCUMENT_LANGUAGE = "en"


def number_text(value) -> str:
    """A number as short text, at most two decimals: 80 → "80", 87.456 → "87.46", 2.50 → "2.5"."""
    try:
        number = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    written = format(number.normalize(), "f")
    return "0" if written in ("-0", "") else written


def escape_markdown(value) -> str:
    """``value`` as text, the characters Markdown would read as markup backslash-escaped."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", str(value))


# --- Sentences ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    """How one renderer writes the parts of a sentence, and fills a template with them."""

    course: Callable[[str], str]  # a course key → its reference
    credential: Callable[[str], str]  # a credential slug → its reference
    issuer: Callable[[str], str]  # an issuer's id (DID) → its reference
    value: Callable[[str], str]  # a value given in the criteria (a mode, an achievement)
    fill: Callable[[str, dict], str]


def _either(values) -> str:
    """The values joined as a choice: "a", "a or b", "a, b or c"."""
    values = list(values)
    if len(values) == 1:
        return values[0]
    return _("%(some)s or %(last)s") % {"some": ", ".join(values[:-1]), "last": values[-1]}


def _sentence(node: rules.Requirement, style: _Style) -> str:
    """One requirement leaf as a sentence (no final period), in ``style``."""
    fill = style.fill
    if isinstance(node, rules.CoursePassed):
        return fill(_("Pass %(course)s"), {"course": style.course(node.course)})
    if isinstance(node, rules.CourseGrade):
        course = style.course(node.course)
        if node.min_percent <= 0:  # met by any grade (rules.CourseGrade)
            return fill(_("Receive a grade in %(course)s"), {"course": course})
        return fill(_("Reach a grade of at least %(percent)s %% in %(course)s"),
                    {"percent": number_text(node.min_percent), "course": course})
    if isinstance(node, rules.CourseCompletion):
        course = style.course(node.course)
        if node.min_percent >= 100:
            return fill(_("Complete all of %(course)s"), {"course": course})
        return fill(_("Complete at least %(percent)s %% of %(course)s"),
                    {"percent": number_text(node.min_percent), "course": course})
    if isinstance(node, rules.CertificateEarned):
        course = style.course(node.course)
        if node.mode:
            return fill(_("Earn a %(mode)s certificate in %(course)s"),
                        {"mode": style.value(node.mode), "course": course})
        return fill(_("Earn a certificate in %(course)s"), {"course": course})
    if isinstance(node, rules.Enrolled):
        course = style.course(node.course)
        if node.modes:
            return fill(_("Enroll in %(course)s (%(modes)s track)"),
                        {"course": course, "modes": _either(style.value(mode) for mode in node.modes)})
        return fill(_("Enroll in %(course)s"), {"course": course})
    if isinstance(node, rules.CredentialEarned):
        return fill(_("Earn %(credential)s"), {"credential": style.credential(node.credential)})
    if isinstance(node, rules.ExternalCredentialHeld):
        return _external_sentence(node, style)
    raise ValueError(f"cannot describe requirement {node!r}")


def _external_sentence(node: rules.ExternalCredentialHeld, style: _Style) -> str:
    """The sentence for holding an outside issuer's OB 3.0 credential: its achievement or type, and minimum result."""
    params = {"issuer": style.issuer(node.issuer)}
    if node.min_result is not None:
        params["result"] = number_text(node.min_result)
    if node.achievement:
        params["achievement"] = style.value(node.achievement)
        if node.min_result is None:
            template = _("Hold the Open Badges 3.0 credential %(achievement)s from %(issuer)s")
        else:
            template = _("Hold the Open Badges 3.0 credential %(achievement)s with a result of at least "
                         "%(result)s from %(issuer)s")
    else:
        params["type"] = style.value(node.achievement_type)
        if node.min_result is None:
            template = _("Hold an Open Badges 3.0 credential for an achievement of type %(type)s from %(issuer)s")
        else:
            template = _("Hold an Open Badges 3.0 credential for an achievement of type %(type)s with a result "
                         "of at least %(result)s from %(issuer)s")
    return style.fill(template, params)


def heading(group: rules.Group) -> str:
    """A group's heading, translated: "All of the following:", "At least 2 of the following:"."""
    if group.kind == rules.ALL:
        return _("All of the following:")
    if group.kind == rules.ANY:
        return _("One of the following:")
    return ngettext("At least %(n)d of the following:", "At least %(n)d of the following:",
                    group.needed) % {"n": group.needed}


def _named(names: Mapping | None) -> Callable[[str], str]:
    """A reference by name, the identifier itself when there is no name."""
    names = names or {}
    return lambda key: names.get(key) or key


def _percent_fill(template, params):
    return template % params


def _bullets(node, depth, write_leaf, write_heading) -> list:
    """The requirement tree as nested bullet lines, one per leaf or group, indented by depth."""
    pad = "  " * depth
    if isinstance(node, rules.Group):
        lines = [f"{pad}- {write_heading(node)}"]
        for child in node.children:
            lines.extend(_bullets(child, depth + 1, write_leaf, write_heading))
        return lines
    return [f"{pad}- {write_leaf(node)}"]


def _as_list(tree, write_leaf, write_heading, period) -> str:
    """A single requirement as a sentence; a group as its heading over a nested list."""
    if not isinstance(tree, rules.Group):
        return write_leaf(tree) + period
    lines = [write_heading(tree), ""]
    for child in tree.children:
        lines.extend(_bullets(child, 0, write_leaf, write_heading))
    return "\n".join(lines)


# --- Plain text: learner pages, reports ---------------------------------------------------------


def text(node: rules.Requirement, course_names: Mapping | None = None, credential_names: Mapping | None = None,
         issuer_names: Mapping | None = None) -> str:
    """
    A requirement in the request's language: a leaf's sentence ("Pass Python Foundations"); a group's
    heading over a nested list of its requirements. The mappings give names by course key, credential
    slug and issuer id; an identifier shows where a name is missing.
    """
    style = _Style(course=_named(course_names), credential=_named(credential_names), issuer=_named(issuer_names),
                   value=str, fill=_percent_fill)
    return _as_list(node, lambda leaf: _sentence(leaf, style), heading, "")


# --- Markdown: the signed credential's Criteria.narrative ---------------------------------------


def _markdown_course(course_names):
    """How Markdown names a course: its escaped name then its key, or the key alone when it has no name."""
    names = course_names or {}

    def course(key):
        name = names.get(key)
        return f"{escape_markdown(name)} ({key})" if name else key

    return course


def _markdown_credential(credential_names):
    names = credential_names or {}
    return lambda slug: escape_markdown(names[slug]) if names.get(slug) else slug


def markdown(criteria, course_names: Mapping | None = None, credential_names: Mapping | None = None,
             issuer_names: Mapping | None = None) -> str:
    """
    The criteria in words as Markdown, in English (what a credential's issuer signs is not
    translated): a sentence for a single requirement, a nested list for groups. ``criteria`` is a
    rules.Requirement or its JSON form; the mappings give display names by course key (shown with
    the key), credential slug and issuer id (identifiers are shown when a name is missing).
    """
    tree = criteria if isinstance(criteria, rules.Requirement) else rules.parse_criteria(criteria)
    issuers = issuer_names or {}
    style = _Style(course=_markdown_course(course_names), credential=_markdown_credential(credential_names),
                   issuer=lambda issuer: escape_markdown(issuers.get(issuer) or issuer), value=escape_markdown,
                   fill=_percent_fill)
    with translation.override(DOCUMENT_LANGUAGE):
        return _as_list(tree, lambda leaf: _sentence(leaf, style), heading, ".")


# --- HTML: the admin ----------------------------------------------------------------------------


def _code(value):
    return format_html("<code>{}</code>", value)


def _html_fill(template, params):
    # What format_html does, for %-style templates: the template is escaped as text, every value
    # unless it is already safe (a rendered reference).
    return mark_safe(  # pylint: disable=mark-safe-interpolation  (the template and every value are escaped here)
        conditional_escape(template) % {key: conditional_escape(value) for key, value in params.items()})


def html(node: rules.Requirement, course: Callable[[str], str] = _code, credential: Callable[[str], str] = _code,
         issuer: Callable[[str], str] = str, labels: Mapping | None = None):
    """
    A requirement (sub)tree as safe HTML: a leaf's sentence; a group's heading in bold over a list.
    ``course`` and ``credential`` render a course key and a credential slug (default: as code);
    ``labels`` (path → text) are the authors' labels, shown after the node they name.
    """
    labels = labels or {}
    style = _Style(course=course, credential=credential, issuer=issuer, value=str, fill=_html_fill)

    def write(item):
        label = labels.get(item.path)
        suffix = format_html(" <em>“{}”</em>", label) if isinstance(label, str) and label else ""
        if not isinstance(item, rules.Group):
            return format_html("{}{}", _sentence(item, style), suffix)
        children = format_html_join("", "<li>{}</li>", ((write(child),) for child in item.children))
        return format_html('<strong>{}</strong>{}<ul style="margin-left: 1.5em;">{}</ul>', heading(item), suffix,
                           children)

    return write(node)
