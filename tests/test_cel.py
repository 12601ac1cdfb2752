"""Criteria as CEL (openedx_microcred/cel.py): out and back in, for every requirement type, and bad input refused."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings

from openedx_microcred import cel, rules
from openedx_microcred.models import Credential, TrustedIssuer

from .conftest import C1, C2
from .criteria_strategies import criteria

ISSUER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"

EVERY_TYPE = {"type": "all", "of": [
    {"type": "course_passed", "course": C1},
    {"type": "course_grade", "course": C2, "min_percent": 57},
    {"type": "course_grade", "course": C1, "min_percent": 0},
    {"type": "course_completion", "course": C1, "min_percent": 33.3},
    {"type": "course_completion", "course": C2},
    {"type": "certificate", "course": C1},
    {"type": "certificate", "course": C2, "mode": "verified"},
    {"type": "enrolled", "course": C1},
    {"type": "enrolled", "course": C2, "modes": ["verified", "professional"]},
    {"type": "credential", "credential": "python-bronze"},
    {"type": "external_credential", "issuer": ISSUER, "achievement": "https://u.example/a/1"},
    {"type": "external_credential", "issuer": ISSUER, "achievement_type": "Certificate", "min_result": 80},
    {"type": "any", "of": [{"type": "credential", "credential": "a"}, {"type": "credential", "credential": "b"}]},
    {"type": "any", "of": [{"type": "credential", "credential": "only"}]},
    {"type": "all", "of": [{"type": "credential", "credential": "alone"}]},
    {"type": "at_least", "n": 2, "of": [
        {"type": "all", "of": [{"type": "course_passed", "course": C1}, {"type": "course_passed", "course": C2}]},
        {"type": "any", "of": [{"type": "credential", "credential": "x"}, {"type": "credential", "credential": "y"}]},
        {"type": "at_least", "n": 1, "of": [{"type": "credential", "credential": "z"}]},
    ]},
]}


def _round_trip(data):
    """The CEL text of `data`'s criteria, after checking that reading it back gives the same criteria."""
    tree = rules.parse_criteria(data)
    text = cel.to_cel(tree)
    back = cel.from_cel(text)
    assert rules.parse_criteria(back).to_dict() == tree.to_dict(), text
    return text


def test_every_requirement_type_goes_to_cel_and_back_unchanged():
    text = _round_trip(EVERY_TYPE)
    covered = {leaf.kind for leaf in rules.parse_criteria(EVERY_TYPE).leaves()}
    assert covered == {"course_passed", "course_grade", "course_completion", "certificate", "enrolled", "credential",
                       "external_credential"}
    assert f'grade("{C2}") >= 0.57' in text and f'completion("{C1}") >= 0.333' in text
    assert '(credential("a") || credential("b"))' in text and 'at_least(2, [' in text


@settings(max_examples=150, deadline=None)
@given(criteria(depth=4))
def test_any_criteria_tree_goes_to_cel_and_back_unchanged(data):
    _round_trip(data)


def test_idiomatic_cel_reads_as_the_same_tree():
    text = f'passed("{C1}") && (grade("{C2}") >= 0.8 || credential("b")) && credential("c")'
    assert cel.from_cel(text) == {"type": "all", "of": [
        {"type": "course_passed", "course": C1},
        {"type": "any", "of": [{"type": "course_grade", "course": C2, "min_percent": 80.0},
                               {"type": "credential", "credential": "b"}]},
        {"type": "credential", "credential": "c"}]}


@pytest.mark.parametrize("text, message", [
    ("passed(", "not a CEL expression"),
    ('frobnicate("x")', "unknown function frobnicate()"),
    ('grade("course-v1:A+B+C") < 0.5', "only grade(course) >= x"),
    ('passed("not a course")', "not a valid course key"),
    ("passed('course-v1:A+B+C')", "only double-quoted strings"),
    ('at_least(3, [credential("a")])', "the group's size"),
    ('passed("x") + 1', "expected a requirement"),
    ("(" * 200 + 'credential("a")' + ")" * 200, "nested deeper"),
    ('credential("' + "a" * (cel.MAX_CEL_CHARS) + '")', "longer than"),
])
def test_bad_cel_is_refused_saying_why(text, message):
    with pytest.raises(rules.InvalidCriteria, match=re.escape(message)):
        cel.from_cel(text)


def test_the_command_exports_and_imports_a_credentials_criteria(make_credential, tmp_path, capsys):
    TrustedIssuer.objects.create(issuer=ISSUER, org="DemoX")
    make_credential("python-bronze", {"type": "course_passed", "course": C1})
    for slug in ("a", "b", "only", "alone", "x", "y", "z"):
        make_credential(slug, {"type": "course_passed", "course": C2})
    make_credential("stack", {"type": "credential", "credential": "python-bronze"})
    path = tmp_path / "stack.cel"
    path.write_text(cel.to_cel(rules.parse_criteria(EVERY_TYPE)))
    call_command("microcred_cel", "import", "stack", str(path))
    stored = Credential.objects.get(slug="stack")
    assert stored.requirement().to_dict() == rules.parse_criteria(EVERY_TYPE).to_dict()
    out = io.StringIO()
    call_command("microcred_cel", "export", "stack", stdout=out)
    assert out.getvalue().strip() == path.read_text()


def test_an_import_that_breaks_a_rule_changes_nothing(make_credential, tmp_path):
    make_credential("stack", {"type": "course_passed", "course": C1})
    path = tmp_path / "bad.cel"
    path.write_text('credential("no-such-credential")')
    with pytest.raises(CommandError, match="unknown credential 'no-such-credential'"):
        call_command("microcred_cel", "import", "stack", str(path))
    path.write_text('frobnicate("x")')
    with pytest.raises(CommandError, match="unknown function"):
        call_command("microcred_cel", "import", "stack", str(path))
    assert Credential.objects.get(slug="stack").criteria == {"type": "course_passed", "course": C1}
