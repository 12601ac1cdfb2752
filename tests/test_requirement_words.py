"""
A requirement in words: every leaf kind and every group kind through each of the three renderers
(plain text for learners, Markdown for the signed narrative, HTML for the admin).
"""

import pytest
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import SafeString

from openedx_microcred import requirement_words as words
from openedx_microcred import rules

from .i18n import PSEUDO, pseudo, use_pseudo_language

C1, C2 = "course-v1:ExU+PY101+2026", "course-v1:ExU+PY_102+2026"
ISSUER = "did:web:badges.other.example"
ACHIEVEMENT = "https://badges.other.example/achievements/data-literacy"
COURSES = {C1: "Python *Foundations*", C2: "Data Wrangling"}
CREDENTIALS = {"py-testing": "Python <Testing>"}
ISSUERS = {ISSUER: "Other University"}


def leaf(**data):
    return rules.parse_criteria(data)


# Each leaf kind, with every nuance of its sentence: (JSON form, text, Markdown, HTML).
LEAVES = [
    ({"type": "course_passed", "course": C1},
     "Pass Python *Foundations*", rf"Pass Python \*Foundations\* ({C1})", f"Pass <code>{C1}</code>"),
    ({"type": "course_grade", "course": C2, "min_percent": 80},
     "Reach a grade of at least 80 % in Data Wrangling", f"Reach a grade of at least 80 % in Data Wrangling ({C2})",
     f"Reach a grade of at least 80 % in <code>{C2}</code>"),
    ({"type": "course_grade", "course": C2, "min_percent": 87.456},
     "Reach a grade of at least 87.46 % in Data Wrangling",
     f"Reach a grade of at least 87.46 % in Data Wrangling ({C2})",
     f"Reach a grade of at least 87.46 % in <code>{C2}</code>"),
    ({"type": "course_grade", "course": C2, "min_percent": 0},
     "Receive a grade in Data Wrangling", f"Receive a grade in Data Wrangling ({C2})",
     f"Receive a grade in <code>{C2}</code>"),
    ({"type": "course_completion", "course": C2, "min_percent": 75},
     "Complete at least 75 % of Data Wrangling", f"Complete at least 75 % of Data Wrangling ({C2})",
     f"Complete at least 75 % of <code>{C2}</code>"),
    ({"type": "course_completion", "course": C2},
     "Complete all of Data Wrangling", f"Complete all of Data Wrangling ({C2})", f"Complete all of <code>{C2}</code>"),
    ({"type": "certificate", "course": C1, "mode": "pro_verified"},
     "Earn a pro_verified certificate in Python *Foundations*",
     rf"Earn a pro\_verified certificate in Python \*Foundations\* ({C1})",
     f"Earn a pro_verified certificate in <code>{C1}</code>"),
    ({"type": "certificate", "course": C1},
     "Earn a certificate in Python *Foundations*", rf"Earn a certificate in Python \*Foundations\* ({C1})",
     f"Earn a certificate in <code>{C1}</code>"),
    ({"type": "enrolled", "course": C2, "modes": ["audit", "verified", "professional"]},
     "Enroll in Data Wrangling (audit, verified or professional track)",
     f"Enroll in Data Wrangling ({C2}) (audit, verified or professional track)",
     f"Enroll in <code>{C2}</code> (audit, verified or professional track)"),
    ({"type": "enrolled", "course": C2, "modes": ["verified"]},
     "Enroll in Data Wrangling (verified track)", f"Enroll in Data Wrangling ({C2}) (verified track)",
     f"Enroll in <code>{C2}</code> (verified track)"),
    ({"type": "enrolled", "course": C2},
     "Enroll in Data Wrangling", f"Enroll in Data Wrangling ({C2})", f"Enroll in <code>{C2}</code>"),
    ({"type": "credential", "credential": "py-testing"},
     "Earn Python <Testing>", r"Earn Python \<Testing\>", "Earn <code>py-testing</code>"),
    ({"type": "credential", "credential": "py-unnamed"},
     "Earn py-unnamed", "Earn py-unnamed", "Earn <code>py-unnamed</code>"),
    ({"type": "external_credential", "issuer": ISSUER, "achievement": ACHIEVEMENT},
     f"Hold the Open Badges 3.0 credential {ACHIEVEMENT} from Other University",
     f"Hold the Open Badges 3.0 credential {ACHIEVEMENT} from Other University",
     f"Hold the Open Badges 3.0 credential {ACHIEVEMENT} from {ISSUER}"),
    ({"type": "external_credential", "issuer": ISSUER, "achievement": ACHIEVEMENT, "min_result": 70},
     f"Hold the Open Badges 3.0 credential {ACHIEVEMENT} with a result of at least 70 from Other University",
     f"Hold the Open Badges 3.0 credential {ACHIEVEMENT} with a result of at least 70 from Other University",
     f"Hold the Open Badges 3.0 credential {ACHIEVEMENT} with a result of at least 70 from {ISSUER}"),
    ({"type": "external_credential", "issuer": "did:web:unknown.example", "achievement_type": "Certificate"},
     "Hold an Open Badges 3.0 credential for an achievement of type Certificate from did:web:unknown.example",
     "Hold an Open Badges 3.0 credential for an achievement of type Certificate from did:web:unknown.example",
     "Hold an Open Badges 3.0 credential for an achievement of type Certificate from did:web:unknown.example"),
    ({"type": "external_credential", "issuer": ISSUER, "achievement_type": "Badge", "min_result": 2.5},
     "Hold an Open Badges 3.0 credential for an achievement of type Badge with a result of at least 2.5 "
     "from Other University",
     "Hold an Open Badges 3.0 credential for an achievement of type Badge with a result of at least 2.5 "
     "from Other University",
     "Hold an Open Badges 3.0 credential for an achievement of type Badge with a result of at least 2.5 "
     f"from {ISSUER}"),
]


@pytest.mark.parametrize("data, text, markdown, html", LEAVES, ids=[repr(row[0]) for row in LEAVES])
def test_each_leaf_kind_reads_as_one_sentence_in_each_renderer(data, text, markdown, html):
    node = rules.parse_criteria(data)
    assert words.text(node, COURSES, CREDENTIALS, ISSUERS) == text
    assert words.markdown(node, COURSES, CREDENTIALS, ISSUERS) == markdown + "."
    rendered = words.html(node)
    assert isinstance(rendered, SafeString) and rendered == html


def test_every_leaf_kind_of_the_rules_has_a_sentence():
    kinds = {rules.parse_criteria(data).kind for data, *_ in LEAVES}
    assert kinds == {rules.CoursePassed.kind, rules.CourseGrade.kind, rules.CourseCompletion.kind,
                     rules.CertificateEarned.kind, rules.Enrolled.kind, rules.CredentialEarned.kind,
                     rules.ExternalCredentialHeld.kind}


def test_without_names_the_identifiers_show():
    node = leaf(type="course_grade", course=C1, min_percent=70)
    assert words.text(node) == f"Reach a grade of at least 70 % in {C1}"
    assert words.markdown(node) == f"Reach a grade of at least 70 % in {C1}."


TREE = {"type": "all", "of": [
    {"type": "course_passed", "course": C1},
    {"type": "at_least", "n": 2, "label": "Two <of> three", "of": [
        {"type": "course_grade", "course": C2, "min_percent": 80},
        {"type": "certificate", "course": C1, "mode": "verified"},
        {"type": "credential", "credential": "py-testing"},
    ]},
    {"type": "any", "of": [{"type": "course_completion", "course": C2},
                           {"type": "enrolled", "course": C1}]},
]}


def test_groups_read_as_their_heading_over_a_nested_list_in_text():
    assert words.text(rules.parse_criteria(TREE), COURSES, CREDENTIALS) == "\n".join([
        "All of the following:",
        "",
        "- Pass Python *Foundations*",
        "- At least 2 of the following:",
        "  - Reach a grade of at least 80 % in Data Wrangling",
        "  - Earn a verified certificate in Python *Foundations*",
        "  - Earn Python <Testing>",
        "- One of the following:",
        "  - Complete all of Data Wrangling",
        "  - Enroll in Python *Foundations*",
    ])


def test_groups_read_as_their_heading_over_a_nested_list_in_markdown_from_the_json_form():
    assert words.markdown(TREE, COURSES, CREDENTIALS) == "\n".join([
        "All of the following:",
        "",
        rf"- Pass Python \*Foundations\* ({C1})",
        "- At least 2 of the following:",
        f"  - Reach a grade of at least 80 % in Data Wrangling ({C2})",
        rf"  - Earn a verified certificate in Python \*Foundations\* ({C1})",
        r"  - Earn Python \<Testing\>",
        "- One of the following:",
        f"  - Complete all of Data Wrangling ({C2})",
        rf"  - Enroll in Python \*Foundations\* ({C1})",
    ])


def test_groups_read_as_a_bold_heading_over_a_list_in_html_with_the_references_the_caller_renders():
    tree = rules.parse_criteria(TREE)
    rendered = words.html(
        tree, course=lambda key: format_html("<kbd>{}</kbd>", key),
        credential=lambda slug: format_html('<a href="/c/{}">{}</a>', slug, slug),
        labels={"criteria.of[1]": "Two <of> three"})
    assert rendered == (
        '<strong>All of the following:</strong><ul style="margin-left: 1.5em;">'
        f"<li>Pass <kbd>{C1}</kbd></li>"
        '<li><strong>At least 2 of the following:</strong> <em>“Two &lt;of&gt; three”</em>'
        '<ul style="margin-left: 1.5em;">'
        f"<li>Reach a grade of at least 80 % in <kbd>{C2}</kbd></li>"
        f"<li>Earn a verified certificate in <kbd>{C1}</kbd></li>"
        '<li>Earn <a href="/c/py-testing">py-testing</a></li></ul></li>'
        '<li><strong>One of the following:</strong><ul style="margin-left: 1.5em;">'
        f"<li>Complete all of <kbd>{C2}</kbd></li><li>Enroll in <kbd>{C1}</kbd></li></ul></li></ul>"
    )


def test_html_escapes_what_the_criteria_say_and_keeps_what_the_caller_rendered():
    node = leaf(type="certificate", course=C1, mode="<b>x</b>")
    assert words.html(node, course=lambda key: format_html("<i>{}</i>", key)) == \
        f"Earn a &lt;b&gt;x&lt;/b&gt; certificate in <i>{C1}</i>"
    assert words.html(leaf(type="credential", credential="<script>")) == "Earn <code>&lt;script&gt;</code>"
    assert words.html(leaf(type="course_passed", course=C1), labels={"criteria": "First"}) == \
        f"Pass <code>{C1}</code> <em>“First”</em>"


def test_a_single_requirement_in_markdown_is_a_sentence_with_a_period():
    assert words.markdown({"type": "credential", "credential": "a_b"}, credential_names={"a_b": "*Gold*"}) == \
        r"Earn \*Gold\*."


@pytest.mark.parametrize("group, heading", [
    ({"type": "all", "of": [{"type": "course_passed", "course": C1}]}, "All of the following:"),
    ({"type": "any", "of": [{"type": "course_passed", "course": C1}]}, "One of the following:"),
    ({"type": "at_least", "n": 1, "of": [{"type": "course_passed", "course": C1}]}, "At least 1 of the following:"),
])
def test_each_group_kind_has_its_heading(group, heading):
    tree = rules.parse_criteria(group)
    assert words.heading(tree) == heading
    assert words.text(tree).startswith(f"{heading}\n\n- Pass ")
    assert words.markdown(tree).startswith(f"{heading}\n\n- Pass ")
    assert words.html(tree).startswith(f"<strong>{heading}</strong><ul")


def test_learners_read_their_language_and_the_signed_narrative_stays_english(
        settings, pseudo_locale_dir):
    use_pseudo_language(settings, pseudo_locale_dir)
    node = rules.parse_criteria({"type": "any", "of": [{"type": "course_passed", "course": C1},
                                                       {"type": "enrolled", "course": C1, "modes": ["a", "b"]}]})
    with translation.override(PSEUDO):
        learner = words.text(node, COURSES)
        narrative = words.markdown(node, COURSES)
        admin = words.html(node)
        assert translation.get_language() == PSEUDO  # the narrative left the language as it was
    assert learner.split("\n") == [
        pseudo("One of the following:"), "",
        "- " + pseudo("Pass %(course)s") % {"course": COURSES[C1]},
        "- " + pseudo("Enroll in %(course)s (%(modes)s track)") % {
            "course": COURSES[C1], "modes": pseudo("%(some)s or %(last)s") % {"some": "a", "last": "b"}},
    ]
    assert narrative == "\n".join(["One of the following:", "", rf"- Pass Python \*Foundations\* ({C1})",
                                   rf"- Enroll in Python \*Foundations\* ({C1}) (a or b track)"])
    assert admin.startswith(f"<strong>{pseudo('One of the following:')}</strong>")


def test_numbers_are_short_text_with_at_most_two_decimals():
    assert [words.number_text(v) for v in (80, 87.456, "2.50", 0, -0.001, 1e9)] == \
        ["80", "87.46", "2.5", "0", "0", "1000000000"]
    with pytest.raises(ValueError):
        words.number_text("many")


def test_markdown_escaping_backslashes_every_markup_character():
    assert words.escape_markdown(r"a*b_c`d[e]f<g>h#i|j\k") == r"a\*b\_c\`d\[e\]f\<g\>h\#i\|j\\k"
