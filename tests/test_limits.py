"""
Bounded input (docs/limits.md): field limits of credentials, criteria depth and size, JSON depth at
every edge (REST API, Credly webhook, microcred_replay, microcred_verify, microcred_load), YAML
alias expansion, and the public page that does not re-verify the same signed document on every view.
"""

import io
import json
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from openedx_microcred import limits, rules
from openedx_microcred.awards import revoke_awards
from openedx_microcred.catalog import save_credential
from openedx_microcred.models import Award, Credential, LearnerFact, RejectedEvent
from openedx_microcred.openbadges import proof

from . import events
from .conftest import C1
from .eventlog_lines import expected, passing_line, replay, summary
from .rest_api.v1.clients import LIST, client_for

PASS_C1 = {"type": "course_passed", "course": C1}


def nested_groups(levels):
    """Criteria with ``levels`` levels of requirements: all-of groups around one leaf."""
    tree = PASS_C1
    for _ in range(levels - 1):
        tree = {"type": "all", "of": [tree]}
    return tree


def nested_text(levels):
    """The JSON text of ``nested_groups`` built without json.dumps (which cannot go that deep)."""
    leaf = json.dumps(PASS_C1)
    return '{"type": "all", "of": [' * (levels - 1) + leaf + "]}" * (levels - 1)


def credential(**fields):
    """An unsaved DemoX credential "basics" (passing C1), other fields as given."""
    fields.setdefault("slug", "basics")
    fields.setdefault("title", "Basics")
    fields.setdefault("org", "DemoX")
    fields.setdefault("criteria", PASS_C1)
    return Credential(**fields)


# --- Field limits (defect 4) ---------------------------------------------------------------------


@pytest.mark.parametrize("field, value", [
    ("title", "T" * (limits.MAX_TITLE_LENGTH + 1)),
    ("description", "d" * (limits.MAX_DESCRIPTION_LENGTH + 1)),
    ("learning_outcomes", ["Writes Python"] * (limits.MAX_LEARNING_OUTCOMES + 1)),
    ("learning_outcomes", ["o" * (limits.MAX_LEARNING_OUTCOME_LENGTH + 1)]),
    ("learning_outcomes", ["fine", 3]),
    ("assessment_type", "a" * (limits.MAX_SHORT_TEXT_LENGTH + 1)),
    ("participation_form", "p" * (limits.MAX_SHORT_TEXT_LENGTH + 1)),
    ("quality_assurance", "q" * (limits.MAX_QUALITY_ASSURANCE_LENGTH + 1)),
    ("workload_hours", limits.MAX_WORKLOAD_HOURS + 1),
    ("validity_days", limits.MAX_VALIDITY_DAYS + 1),
    ("platform_targets", [{"account": f"a{i}"} for i in range(limits.MAX_PLATFORM_TARGETS + 1)]),
    ("platform_targets", [{"account": "credly", "template_id": "x" * limits.MAX_PLATFORM_TARGET_BYTES}]),
])
def test_a_field_over_its_limit_is_refused_by_the_model(db, field, value):
    with pytest.raises(ValidationError) as refused:
        save_credential(credential(**{field: value}))
    assert field in refused.value.message_dict
    assert not Credential.objects.exists()


def test_fields_at_their_limits_are_accepted(db):
    save_credential(credential(
        title="T" * limits.MAX_TITLE_LENGTH, description="d" * limits.MAX_DESCRIPTION_LENGTH,
        learning_outcomes=["o" * limits.MAX_LEARNING_OUTCOME_LENGTH] * limits.MAX_LEARNING_OUTCOMES,
        quality_assurance="q" * limits.MAX_QUALITY_ASSURANCE_LENGTH, workload_hours=limits.MAX_WORKLOAD_HOURS,
        validity_days=limits.MAX_VALIDITY_DAYS, criteria=nested_groups(limits.MAX_CRITERIA_DEPTH),
    ))
    assert Credential.objects.count() == 1


def test_3000_learning_outcomes_through_the_api_are_a_400(users):
    response = client_for(users["staff"]).post(LIST, {
        "slug": "big", "title": "Big", "course_key": C1, "criteria": PASS_C1,
        "learning_outcomes": [f"Outcome {i}: " + "x" * 60 for i in range(3000)],
    }, format="json")
    assert response.status_code == 400
    assert "At most 50 learning outcomes, not 3000." in response.json()["learning_outcomes"]
    assert not Credential.objects.exists()


def test_3000_learning_outcomes_in_a_catalog_file_are_a_command_error(db, tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(json.dumps({"credentials": [{
        "slug": "big", "title": "Big", "org": "DemoX", "criteria": PASS_C1,
        "learning_outcomes": [f"Outcome {i}" for i in range(3000)]}]}), encoding="utf-8")
    with pytest.raises(CommandError, match=r"credentials\[0\] \(big\): learning_outcomes: At most 50"):
        call_command("microcred_load", str(path), stdout=io.StringIO(), stderr=io.StringIO())


# --- Criteria depth and size (defect 7) -----------------------------------------------------------


def test_criteria_deeper_than_the_limit_are_refused_without_recursion():
    rules.parse_criteria(nested_groups(limits.MAX_CRITERIA_DEPTH))
    with pytest.raises(rules.InvalidCriteria, match="nested deeper than 16 levels"):
        rules.parse_criteria(nested_groups(limits.MAX_CRITERIA_DEPTH + 1))
    # Far beyond Python's recursion limit: measured, not recursed into.
    with pytest.raises(rules.InvalidCriteria, match="nested deeper than 16 levels"):
        rules.parse_criteria(nested_groups(100_000))


def test_criteria_with_too_many_requirements_are_refused():
    wide = {"type": "any", "of": [PASS_C1] * limits.MAX_CRITERIA_NODES}
    with pytest.raises(rules.InvalidCriteria, match="more than 500 requirements"):
        rules.parse_criteria(wide)
    modes = {"type": "enrolled", "course": C1, "modes": ["verified"] * limits.MAX_CRITERIA_VALUES}
    with pytest.raises(rules.InvalidCriteria, match="more than 5000 values"):
        rules.parse_criteria(modes)


def test_api_criteria_480_levels_deep_are_a_400(users):
    body = '{"slug": "deep", "title": "Deep", "course_key": "%s", "criteria": %s}' % (C1, nested_text(480))
    response = client_for(users["staff"]).post(LIST, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper than" in response.json()["detail"]
    assert not Credential.objects.exists()


def test_api_criteria_just_over_the_depth_limit_are_a_400_that_names_it(users):
    body = {"slug": "deep", "title": "Deep", "course_key": C1, "criteria": nested_groups(limits.MAX_CRITERIA_DEPTH + 1)}
    response = client_for(users["staff"]).post(LIST, body, format="json")
    assert response.status_code == 400
    assert response.json()["criteria"] == ["criteria: requirements are nested deeper than 16 levels"]


def test_api_criteria_as_deep_json_text_in_a_form_are_a_400(users):
    response = client_for(users["staff"]).post(LIST, {
        "slug": "deep", "title": "Deep", "course_key": C1, "criteria": "[" * 100_000}, format="multipart")
    assert response.status_code == 400 and "criteria" in response.json()


def test_a_webhook_body_of_100000_brackets_is_a_400(client, credly):
    response = client.post("/microcred/webhooks/credly/credly/", "[" * 100_000, content_type="application/json")
    assert response.status_code == 400


def test_microcred_verify_on_a_900_level_object_is_a_command_error(db, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"a": ' * 900 + "1" + "}" * 900, encoding="utf-8")
    with pytest.raises(CommandError, match="cannot be read: nested deeper than"):
        call_command("microcred_verify", str(path), stdout=io.StringIO())


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_microcred_load_with_10000_nested_groups_is_a_command_error(db, tmp_path, suffix):
    path = tmp_path / f"catalog{suffix}"
    path.write_text('{"credentials": [{"slug": "deep", "title": "Deep", "org": "DemoX", "criteria": '
                    + nested_text(10_000) + "}]}", encoding="utf-8")  # JSON is YAML too
    with pytest.raises(CommandError, match="nested deeper than"):
        call_command("microcred_load", str(path), "--dry-run", stdout=io.StringIO(), stderr=io.StringIO())


def test_microcred_load_with_criteria_just_over_the_limit_names_the_entry(db, tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"credentials": [{"slug": "deep", "title": "Deep", "org": "DemoX",
                                                 "criteria": nested_groups(limits.MAX_CRITERIA_DEPTH + 1)}]}))
    with pytest.raises(CommandError, match=r"credentials\[0\] \(deep\): criteria: requirements are nested deeper"):
        call_command("microcred_load", str(path), stdout=io.StringIO(), stderr=io.StringIO())


def test_deep_non_utf8_and_overlong_lines_do_not_stop_the_replay(learner, on_commit, tmp_path):
    path = tmp_path / "events.jsonl"
    lines = [
        passing_line(learner, C1, 1).encode(),
        b"[" * 60_000,                                        # too deep (and past the recursion limit)
        b'{"event_type": "caf\xe9"}',                         # not UTF-8 (Latin-1)
        b'{"pad": "' + b"x" * (limits.MAX_EVENT_LINE_BYTES + 10) + b'"}',  # too long
        b'{"a": ' * 500 + b"1" + b"}" * 500,                   # deep, valid JSON
        passing_line(learner, C1, 2, minutes=5, is_passing=False).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    out, err = io.StringIO(), io.StringIO()
    with on_commit():
        call_command("microcred_replay", str(path), "--no-progress", stdout=out, stderr=err)
    assert summary(out.getvalue()) == expected(applied=2, rejected=4)
    assert LearnerFact.objects.get().value["passed"] is False  # the last line was applied too
    kept = {r.payload["line_number"]: r for r in RejectedEvent.objects.all()}
    assert sorted(kept) == [2, 3, 4, 5]
    assert kept[2].reason == kept[5].reason == f"cannot be read: nested deeper than {limits.MAX_JSON_DEPTH} levels"
    assert kept[3].reason.startswith("cannot be read: not UTF-8 text")
    assert kept[3].payload["line"] == '{"event_type": "caf\\xe9"}'
    assert kept[4].reason == f"cannot be read: longer than {limits.MAX_EVENT_LINE_BYTES} bytes"
    # What is kept of a line is its text, cut to a documented size.
    assert len(kept[2].payload["line"]) == limits.MAX_KEPT_LINE_CHARS
    assert kept[2].payload["truncated_from"] == 60_000
    assert "line 2: rejected: cannot be read: nested deeper" in err.getvalue()
    assert "line 3: rejected: cannot be read: not UTF-8" in err.getvalue()


def test_a_non_utf8_line_on_stdin_is_rejected_alone(learner, on_commit, monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(passing_line(learner, C1, 1).encode() + b"\n\xff\xfe\n"), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    with on_commit():
        assert replay("-") == expected(applied=1, rejected=1)


# --- YAML aliases (defect 8) ----------------------------------------------------------------------

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
j: &j [*i,*i,*i,*i,*i,*i,*i,*i,*i]
k: &k [*j,*j,*j,*j,*j,*j,*j,*j,*j]
l: &l [*k,*k,*k,*k,*k,*k,*k,*k,*k]
m: &m [*l,*l,*l,*l,*l,*l,*l,*l,*l]
n: &n [*m,*m,*m,*m,*m,*m,*m,*m,*m]
o: &o [*n,*n,*n,*n,*n,*n,*n,*n,*n]
p: &p [*o,*o,*o,*o,*o,*o,*o,*o,*o]
q: &q [*p,*p,*p,*p,*p,*p,*p,*p,*p]
r: &r [*q,*q,*q,*q,*q,*q,*q,*q,*q]
s: &s [*r,*r,*r,*r,*r,*r,*r,*r,*r]
t: &t [*s,*s,*s,*s,*s,*s,*s,*s,*s]
credentials: [{slug: lol, title: *t, org: DemoX, criteria: {type: course_passed, course: *t}}]
"""


def test_a_billion_laughs_catalog_fails_with_a_clear_error(db, tmp_path):
    assert len(BILLION_LAUGHS) < 1000  # 9 ** 20 values
    path = tmp_path / "laughs.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    with pytest.raises(CommandError, match=r"with its aliases expanded, this stands for more than 200000 values"):
        call_command("microcred_load", str(path), "--dry-run", stdout=io.StringIO(), stderr=io.StringIO())


def test_a_recursive_yaml_alias_is_refused(db, tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("credentials: &a [*a]\n", encoding="utf-8")
    with pytest.raises(CommandError, match="recursive alias"):
        call_command("microcred_load", str(path), "--dry-run", stdout=io.StringIO(), stderr=io.StringIO())


def test_a_catalog_file_over_the_size_limit_is_refused_before_it_is_read(db, tmp_path, monkeypatch):
    monkeypatch.setattr("openedx_microcred.management.commands.microcred_load.MAX_CATALOG_BYTES", 100)
    path = tmp_path / "big.yaml"
    path.write_text("credentials: []\n" + "#" * 200, encoding="utf-8")
    with pytest.raises(CommandError, match="a catalog file has at most 100"):
        call_command("microcred_load", str(path), stdout=io.StringIO(), stderr=io.StringIO())


# --- The public page verifies a signed document once (defect 4) ----------------------------------


@pytest.fixture
def award(learner, make_credential, on_commit):
    """The learner's award of a credential with as many outcomes as allowed, each long."""
    make_credential("basics", PASS_C1, title="Python Basics",
                    learning_outcomes=[f"Outcome {i} " + "x" * 400 for i in range(limits.MAX_LEARNING_OUTCOMES)])
    with on_commit():
        events.passing(learner, C1)
    return Award.objects.get()


def proof_checks_of(award, calls):
    return [c for c in calls.call_args_list if c.args[0].get("id", "").endswith(f"/credentials/{award.uuid}/")]


def test_the_public_page_does_not_verify_the_same_document_twice(client, award):
    with mock.patch.object(proof, "verify_proof", wraps=proof.verify_proof) as checks:
        first = client.get(f"/microcred/credentials/{award.uuid}/")
        assert len(proof_checks_of(award, checks)) == 1
        second = client.get(f"/microcred/credentials/{award.uuid}/")
        assert len(proof_checks_of(award, checks)) == 1
    assert "Verified" in first.content.decode() and "Verified" in second.content.decode()


def test_a_revocation_shows_at_once_on_a_page_already_verified(client, award, on_commit):
    assert "Verified" in client.get(f"/microcred/credentials/{award.uuid}/").content.decode()
    with on_commit():
        revoke_awards([award.pk], "misconduct", source=Award.RevocationSource.OPERATOR)
    page = client.get(f"/microcred/credentials/{award.uuid}/").content.decode()
    assert "Not valid" in page and "revoked by its issuer" in page


def test_a_changed_document_is_verified_again(client, award):
    assert "Verified" in client.get(f"/microcred/credentials/{award.uuid}/").content.decode()
    document = award.document
    document["name"] = "Python Mastery"  # changed after signing
    Award.objects.filter(pk=award.pk).update(document=document)
    with mock.patch.object(proof, "verify_proof", wraps=proof.verify_proof) as checks:
        page = client.get(f"/microcred/credentials/{award.uuid}/").content.decode()
    assert len(proof_checks_of(award, checks)) == 1
    assert "Not valid" in page
