"""Unit tests of the pure-Python rules engine (``openedx_microcred.rules``): no database involved."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from django.core.exceptions import ValidationError

from openedx_microcred import rules
from openedx_microcred.rules import (
    CERTIFICATE,
    COMPLETION,
    ENROLLMENT,
    GRADE,
    PASSING,
    CertificateEarned,
    CourseCompletion,
    CourseGrade,
    CoursePassed,
    CredentialEarned,
    CredentialRule,
    Enrolled,
    Fact,
    Group,
    InvalidCriteria,
    LearnerState,
    parse_criteria,
)

C1 = "course-v1:Org+C1+2026"
C2 = "course-v1:Org+C2+2026"
C3 = "course-v1:Org+C3+2026"
C4 = "course-v1:Org+C4+2026"
T0 = datetime(2026, 9, 1, 12, 0, tzinfo=timezone.utc)


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def fact(course, kind, minutes=0, event_id=None, **value):
    return Fact(course, kind, value, event_id or f"{kind}-{course}-{minutes}", at(minutes))


def state(*facts, held=(), progress=None, blocks=None):
    return LearnerState(
        facts={(f.course_key, f.kind): f for f in facts},
        held=frozenset(held),
        progress=dict(progress or {}),
        completable_blocks=dict(blocks or {}),
    )


def passed(course):
    return {"type": "course_passed", "course": course}


def grade(course, min_percent):
    return {"type": "course_grade", "course": course, "min_percent": min_percent}


def cred(slug):
    return {"type": "credential", "credential": slug}


def evaluate(tree, learner):
    return parse_criteria(tree).evaluate(learner)


def rule(slug, tree, revoke=False):
    return CredentialRule(slug, parse_criteria(tree), revoke_when_unmet=revoke)


def by_slug(decisions):
    return {d.slug: d for d in decisions}


def decide_one(credential_rule, learner):
    """The decision on one credential rule decided alone."""
    decisions = rules.decide([credential_rule], learner)
    assert len(decisions) == 1, decisions
    return decisions[0]


# --- Parsing ----------------------------------------------------------------------------------


class TestParseLeaves:
    """Parsing each requirement type alone, with its defaults."""

    def test_course_passed(self):
        node = parse_criteria(passed(C1))
        assert node == CoursePassed(course=C1, path="criteria")
        assert node.courses() == {C1} and node.credentials() == set()

    def test_course_grade(self):
        node = parse_criteria(grade(C2, 80))
        assert isinstance(node, CourseGrade)
        assert (node.course, node.min_percent, node.path) == (C2, 80.0, "criteria")

    def test_course_completion_defaults_to_100_percent(self):
        node = parse_criteria({"type": "course_completion", "course": C3})
        assert isinstance(node, CourseCompletion) and node.min_percent == 100.0
        node = parse_criteria({"type": "course_completion", "course": C3, "min_percent": 75})
        assert node.min_percent == 75.0

    def test_certificate_with_and_without_mode(self):
        assert parse_criteria({"type": "certificate", "course": C4}) == CertificateEarned(course=C4, mode=None)
        node = parse_criteria({"type": "certificate", "course": C4, "mode": "verified"})
        assert isinstance(node, CertificateEarned) and node.mode == "verified"

    def test_enrolled_with_and_without_modes(self):
        assert parse_criteria({"type": "enrolled", "course": C1}) == Enrolled(course=C1, modes=())
        node = parse_criteria({"type": "enrolled", "course": C1, "modes": ["verified", "professional"]})
        assert node.modes == ("verified", "professional")

    def test_credential(self):
        node = parse_criteria(cred("python-bronze"))
        assert node == CredentialEarned(credential="python-bronze", path="criteria")
        assert node.credentials() == {"python-bronze"} and node.courses() == set()

    def test_label_is_accepted_on_any_node(self):
        node = parse_criteria({"type": "all", "label": "Core", "of": [{**passed(C1), "label": "CS101"}]})
        assert isinstance(node, Group)


class TestParseGroups:
    """Parsing all / any / at_least groups: how many are needed, the paths, courses and credentials inside."""

    @pytest.mark.parametrize("kind, needed", [("all", 3), ("any", 1)])
    def test_all_and_any(self, kind, needed):
        node = parse_criteria({"type": kind, "of": [passed(C1), grade(C2, 50), cred("x")]})
        assert isinstance(node, Group) and node.kind == kind and node.needed == needed
        assert [c.path for c in node.children] == ["criteria.of[0]", "criteria.of[1]", "criteria.of[2]"]

    def test_at_least(self):
        node = parse_criteria({"type": "at_least", "n": 2, "of": [passed(C1), passed(C2), passed(C3)]})
        assert node.kind == "at_least" and node.n == 2 and node.needed == 2

    def test_nested_paths_courses_and_credentials(self):
        node = parse_criteria({"type": "all", "of": [
            passed(C1),
            {"type": "any", "of": [cred("a"), {"type": "at_least", "n": 1, "of": [grade(C2, 10), cred("b")]}]},
        ]})
        inner = node.children[1].children[1]
        assert inner.path == "criteria.of[1].of[1]"
        assert inner.children[1].path == "criteria.of[1].of[1].of[1]"
        assert node.courses() == {C1, C2}
        assert node.credentials() == {"a", "b"}

    def test_where_prefix(self):
        assert parse_criteria(passed(C1), where="credentials[3].criteria").path == "credentials[3].criteria"


EVERYTHING = {"type": "all", "of": [
    {"type": "course_passed", "course": C1},
    {"type": "course_grade", "course": C2, "min_percent": 80},
    {"type": "at_least", "n": 2, "of": [
        {"type": "credential", "credential": "python-bronze"},
        {"type": "course_completion", "course": C3, "min_percent": 75},
        {"type": "certificate", "course": C4, "mode": "verified"},
        {"type": "certificate", "course": C4},
        {"type": "enrolled", "course": C1, "modes": ["verified"]},
        {"type": "enrolled", "course": C2},
        {"type": "any", "of": [{"type": "course_completion", "course": C1}]},
    ]},
]}


class TestRoundTrip:
    """to_dict gives back the JSON form the criteria were parsed from."""

    def test_to_dict_is_the_json_form(self):
        data = parse_criteria(EVERYTHING).to_dict()
        # the only normalisation: percents become floats, the completion default is spelled out
        expected = json.loads(json.dumps(EVERYTHING))
        expected["of"][1]["min_percent"] = 80.0
        expected["of"][2]["of"][1]["min_percent"] = 75.0
        expected["of"][2]["of"][6]["of"][0]["min_percent"] = 100.0
        assert data == expected
        assert json.loads(json.dumps(data)) == data

    def test_parse_to_dict_parse_is_identity(self):
        tree = parse_criteria(EVERYTHING)
        assert parse_criteria(tree.to_dict()) == tree
        assert parse_criteria(json.loads(json.dumps(tree.to_dict()))) == tree


# --- Invalid criteria -------------------------------------------------------------------------


def group_of(*children, kind="all", **extra):
    return {"type": kind, "of": list(children), **extra}


INVALID = [
    pytest.param(group_of(passed(C1), passed("x")), "criteria.of[1].course: 'x' is not a valid course key",
                 id="bad-course-key"),
    pytest.param(group_of(passed(C1), group_of(grade("course-v1:nope", 5), kind="any")),
                 "criteria.of[1].of[0].course: 'course-v1:nope' is not a valid course key", id="bad-course-key-nested"),
    pytest.param({"type": "course_passed"}, "criteria.course: a course key is required", id="missing-course"),
    pytest.param({"type": "certificate", "course": ""}, "criteria.course: a course key is required", id="empty-course"),
    pytest.param({"type": "enrolled", "course": 42}, "criteria.course: a course key is required", id="int-course"),
    pytest.param(grade(C1, 101), "criteria.min_percent: must be a number from 0 to 100, not 101", id="percent>100"),
    pytest.param(grade(C1, -0.5), "criteria.min_percent: must be a number from 0 to 100, not -0.5", id="percent<0"),
    pytest.param(grade(C1, True), "criteria.min_percent: must be a number from 0 to 100, not True", id="percent-bool"),
    pytest.param(grade(C1, "80"), "criteria.min_percent: must be a number from 0 to 100, not '80'", id="percent-str"),
    pytest.param(grade(C1, None), "criteria.min_percent: must be a number from 0 to 100, not None", id="percent-null"),
    pytest.param(group_of(grade(C1, float("nan"))),
                 "criteria.of[0].min_percent: must be a number from 0 to 100, not nan", id="percent-nan"),
    pytest.param({"type": "course_grade", "course": C1}, "criteria.min_percent: a minimum grade percent is required",
                 id="grade-without-percent"),
    pytest.param({"type": "course_completion", "course": C1, "min_percent": 150},
                 "criteria.min_percent: must be a number from 0 to 100, not 150", id="completion-percent>100"),
    pytest.param(group_of(passed(C1), passed(C2), kind="at_least", n=0),
                 "criteria.n: must be a whole number from 1 to 2 (the group's size), not 0", id="n=0"),
    pytest.param(group_of(passed(C1), passed(C2), kind="at_least", n=3),
                 "criteria.n: must be a whole number from 1 to 2 (the group's size), not 3", id="n>size"),
    pytest.param(group_of(passed(C1), passed(C2), kind="at_least", n=1.5),
                 "criteria.n: must be a whole number from 1 to 2 (the group's size), not 1.5", id="n-float"),
    pytest.param(group_of(passed(C1), passed(C2), kind="at_least", n="2"),
                 "criteria.n: must be a whole number from 1 to 2 (the group's size), not '2'", id="n-str"),
    pytest.param(group_of(passed(C1), passed(C2), kind="at_least", n=True),
                 "criteria.n: must be a whole number from 1 to 2 (the group's size), not True", id="n-bool"),
    pytest.param(group_of(passed(C1), kind="at_least"),
                 "criteria.n: must be a whole number from 1 to 1 (the group's size), not None", id="n-missing"),
    pytest.param(group_of(passed(C1), group_of(passed(C2), kind="at_least", n=-1)),
                 "criteria.of[1].n: must be a whole number from 1 to 1 (the group's size), not -1", id="n-nested"),
    pytest.param(group_of(), "criteria.of: a group needs a non-empty list of requirements", id="empty-all"),
    pytest.param(group_of(kind="any"), "criteria.of: a group needs a non-empty list of requirements", id="empty-any"),
    pytest.param({"type": "at_least", "n": 1}, "criteria.of: a group needs a non-empty list of requirements",
                 id="missing-of"),
    pytest.param({"type": "all", "of": passed(C1)}, "criteria.of: a group needs a non-empty list of requirements",
                 id="of-not-a-list"),
    pytest.param(group_of(passed(C1), group_of(kind="any")),
                 "criteria.of[1].of: a group needs a non-empty list of requirements", id="empty-nested"),
    pytest.param(group_of(passed(C1), n=1), "criteria.n: only an 'at_least' group takes n", id="n-on-all"),
    pytest.param(group_of(passed(C1), kind="any", n=1), "criteria.n: only an 'at_least' group takes n", id="n-on-any"),
    pytest.param(group_of(passed(C1), {**passed(C2), "min_percent": 50, "grade": 1}),
                 "criteria.of[1]: unknown field(s) grade, min_percent", id="unknown-fields"),
    pytest.param(group_of(passed(C1), children=[]), "criteria: unknown field(s) children", id="unknown-group-field"),
    pytest.param({"type": "credential", "credential": "a", "course": C1}, "criteria: unknown field(s) course",
                 id="course-on-credential"),
    pytest.param(group_of("course_passed"), "criteria.of[0]: must be an object with a 'type', not str",
                 id="not-object"),
    pytest.param([passed(C1)], "criteria: must be an object with a 'type', not list", id="list-at-root"),
    pytest.param({"type": "certificate", "course": C1, "mode": ""},
                 "criteria.mode: must be a course mode slug such as 'verified'", id="empty-mode"),
    pytest.param({"type": "enrolled", "course": C1, "modes": "verified"},
                 "criteria.modes: must be a list of course mode slugs", id="modes-not-list"),
    pytest.param({"type": "enrolled", "course": C1, "modes": ["verified", ""]},
                 "criteria.modes: must be a list of course mode slugs", id="modes-empty-slug"),
    pytest.param({"type": "credential"}, "criteria.credential: the slug of the required credential is required",
                 id="missing-slug"),
]


@pytest.mark.parametrize("data, message", INVALID)
def test_invalid_criteria_names_path_and_problem(data, message):
    with pytest.raises(InvalidCriteria) as raised:
        parse_criteria(data)
    assert raised.value.messages == [message]
    assert isinstance(raised.value, ValidationError)


@pytest.mark.parametrize("kind", ["course_audited", None, "ALL"])
def test_unknown_type(kind):
    data = group_of(passed(C1), {"type": kind, "course": C1}) if kind else group_of(passed(C1), {"course": C1})
    with pytest.raises(InvalidCriteria) as raised:
        parse_criteria(data)
    (message,) = raised.value.messages
    assert message.startswith(f"criteria.of[1].type: unknown requirement type {kind!r}; expected one of: ")
    for known in ("all", "any", "at_least", "course_passed", "course_grade", "course_completion", "certificate",
                  "enrolled", "credential"):
        assert known in message


@pytest.mark.parametrize("value", [0, 100, 0.0, 100.0, 57.5])
def test_percent_bounds_are_inclusive(value):
    assert parse_criteria(grade(C1, value)).min_percent == value


# --- Catalog validation -----------------------------------------------------------------------


def catalog(**trees):
    return {slug: parse_criteria(tree) for slug, tree in trees.items()}


class TestValidateCatalog:
    """A catalog's credential references: dangling ones and dependency cycles are errors."""

    def test_valid_dag_passes(self):
        assert rules.validate_catalog(catalog(
            bronze=passed(C1),
            silver=group_of(cred("bronze"), passed(C2)),
            gold=group_of(cred("silver"), cred("bronze"), passed(C3)),
            other=group_of(cred("bronze"), kind="any"),
        )) is None

    def test_dangling_reference(self):
        with pytest.raises(ValidationError) as raised:
            rules.validate_catalog(catalog(bronze=passed(C1), silver=group_of(cred("bronze"), cred("ghost"))))
        assert raised.value.message_dict == {"silver": ["criteria: requires unknown credential 'ghost'"]}

    def test_self_reference(self):
        with pytest.raises(ValidationError) as raised:
            rules.validate_catalog(catalog(a=group_of(passed(C1), cred("a"))))
        assert raised.value.message_dict == {"a": ["criteria: 'a' requires itself"]}

    def test_two_cycle(self):
        with pytest.raises(ValidationError) as raised:
            rules.validate_catalog(catalog(a=cred("b"), b=group_of(cred("a"), passed(C1))))
        assert raised.value.message_dict == {"a": ["criteria: dependency cycle a → b → a"]}

    def test_three_cycle(self):
        with pytest.raises(ValidationError) as raised:
            rules.validate_catalog(catalog(a=cred("b"), b=cred("c"), c=group_of(cred("a"), passed(C1)), d=cred("a")))
        assert raised.value.message_dict == {"a": ["criteria: dependency cycle a → b → c → a"]}

    def test_errors_for_several_credentials(self):
        with pytest.raises(ValidationError) as raised:
            rules.validate_catalog(catalog(a=cred("a"), b=cred("nope"), c=passed(C1)))
        assert set(raised.value.message_dict) == {"a", "b"}

    def test_find_cycles(self):
        assert rules.find_cycles(catalog(a=cred("b"), b=cred("c"), c=cred("a"))) == [["a", "b", "c", "a"]]
        assert rules.find_cycles(catalog(a=cred("b"), b=passed(C1))) == []


# --- Leaves -----------------------------------------------------------------------------------


class TestCoursePassed:
    """course_passed: the latest of the passing status and the grade's passed decides."""

    def test_no_facts(self):
        outcome = evaluate(passed(C1), state())
        assert (outcome.met, outcome.fraction, outcome.leaves[0].facts) == (False, 0.0, ())

    @pytest.mark.parametrize("kind", [PASSING, GRADE])
    def test_either_fact_alone(self, kind):
        yes = fact(C1, kind, 1, passed=True, percent=0.9)
        no = fact(C1, kind, 1, passed=False, percent=0.1)
        assert evaluate(passed(C1), state(yes)).met
        assert not evaluate(passed(C1), state(no)).met
        assert evaluate(passed(C1), state(yes)).leaves[0].facts == (yes,)

    def test_later_failing_grade_overrides_earlier_passing_status(self):
        learner = state(fact(C1, PASSING, 1, passed=True), fact(C1, GRADE, 2, passed=False, percent=0.3))
        assert not evaluate(passed(C1), learner).met

    def test_later_passing_grade_overrides_earlier_failing_status(self):
        learner = state(fact(C1, PASSING, 1, passed=False), fact(C1, GRADE, 2, passed=True, percent=0.8))
        outcome = evaluate(passed(C1), learner)
        assert outcome.met and [f.event_id for f in outcome.leaves[0].facts] == [f"{GRADE}-{C1}-2"]

    def test_later_passing_status_overrides_earlier_failing_grade(self):
        learner = state(fact(C1, GRADE, 1, passed=False, percent=0.3), fact(C1, PASSING, 2, passed=True))
        assert evaluate(passed(C1), learner).met

    def test_later_failing_status_overrides_earlier_passing_grade(self):
        learner = state(fact(C1, GRADE, 1, passed=True, percent=0.9), fact(C1, PASSING, 2, passed=False))
        assert not evaluate(passed(C1), learner).met

    def test_same_time_is_decided_by_event_id(self):
        status = fact(C1, PASSING, 5, event_id="bbb", passed=False)
        learner = state(status, fact(C1, GRADE, 5, event_id="aaa", passed=True, percent=0.9))
        assert not evaluate(passed(C1), learner).met
        learner = state(status, fact(C1, GRADE, 5, event_id="ccc", passed=True, percent=0.9))
        assert evaluate(passed(C1), learner).met

    def test_other_course_does_not_count(self):
        assert not evaluate(passed(C1), state(fact(C2, PASSING, passed=True))).met


class TestCourseGrade:
    """course_grade: the threshold, two-decimal grades, progress below the threshold, evidence."""

    @pytest.mark.parametrize("percent, min_percent, met, fraction", [
        (0.80, 80, True, 1.0),
        (0.95, 80, True, 1.0),
        (0.799, 80, False, 79.9 / 80),
        (0.40, 80, False, 0.5),
        (0.0, 80, False, 0.0),
        (0.0, 0, True, 1.0),
        (1.0, 100, True, 1.0),
    ])
    def test_threshold_is_inclusive(self, percent, min_percent, met, fraction):
        outcome = evaluate(grade(C1, min_percent), state(fact(C1, GRADE, percent=percent, passed=False)))
        assert outcome.met is met
        assert outcome.leaves[0].fraction == pytest.approx(fraction)
        assert outcome.leaves[0].fraction < 1 or met

    @pytest.mark.parametrize("hundredths", range(101))
    def test_two_decimal_grade_meets_the_same_whole_threshold(self, hundredths):
        # edx-platform sends percent_grade as a fraction rounded to two decimals: 0.57 is 57%.
        learner = state(fact(C1, GRADE, percent=hundredths / 100))
        assert evaluate(grade(C1, hundredths), learner).met
        if hundredths < 100:
            assert not evaluate(grade(C1, hundredths + 0.5), learner).met

    def test_almost_there_is_capped_below_one(self):
        outcome = evaluate(grade(C1, 80), state(fact(C1, GRADE, percent=0.79999)))
        assert not outcome.met and outcome.leaves[0].fraction == 0.999

    def test_missing_fact_or_percent(self):
        assert not evaluate(grade(C1, 0), state()).met
        assert not evaluate(grade(C1, 50), state(fact(C1, GRADE, passed=True))).met
        assert not evaluate(grade(C1, 50), state(fact(C1, GRADE, passed=True, percent=None))).met

    def test_passing_fact_is_not_a_grade(self):
        assert not evaluate(grade(C1, 10), state(fact(C1, PASSING, passed=True))).met

    def test_evidence_is_the_grade_fact(self):
        grade_fact = fact(C1, GRADE, 3, event_id="g-1", percent=0.9)
        outcome = evaluate(grade(C1, 80), state(grade_fact, fact(C1, PASSING, 4, passed=True)))
        assert [f.event_id for f in outcome.leaves[0].facts] == ["g-1"]


class TestCourseCompletion:
    """course_completion: completed over completable blocks, and what an unknown total means."""

    def leaf(self, min_percent=None):
        data = {"type": "course_completion", "course": C1}
        if min_percent is not None:
            data["min_percent"] = min_percent
        return data

    def test_uses_completable_blocks(self):
        done = fact(C1, COMPLETION, completed_blocks=15)
        outcome = evaluate(self.leaf(75), state(done, blocks={C1: 20}))
        assert outcome.met and outcome.leaves[0].facts == (done,)
        outcome = evaluate(self.leaf(75), state(done, blocks={C1: 21}))
        assert not outcome.met and outcome.leaves[0].fraction == pytest.approx(100 * 15 / 21 / 75)

    def test_default_is_full_completion(self):
        assert evaluate(self.leaf(), state(fact(C1, COMPLETION, completed_blocks=10), blocks={C1: 10})).met
        outcome = evaluate(self.leaf(), state(fact(C1, COMPLETION, completed_blocks=9), blocks={C1: 10}))
        assert not outcome.met and outcome.leaves[0].fraction == pytest.approx(0.9)

    def test_more_completed_than_completable_is_capped(self):
        outcome = evaluate(self.leaf(), state(fact(C1, COMPLETION, completed_blocks=99), blocks={C1: 10}))
        assert outcome.met and outcome.fraction == 1.0

    @pytest.mark.parametrize("blocks", [{}, {C1: 0}, {C1: None}, {C2: 10}])
    def test_unknown_total_is_unmet(self, blocks):
        outcome = evaluate(self.leaf(0), state(fact(C1, COMPLETION, completed_blocks=10), blocks=blocks))
        assert (outcome.met, outcome.fraction) == (False, 0.0)

    @pytest.mark.parametrize("blocks", [{}, {C1: 0}, {C1: None}, {C2: 10}])
    def test_unknown_total_makes_the_requirement_unknown_not_just_unmet(self, blocks):
        outcome = evaluate(self.leaf(50), state(fact(C1, COMPLETION, completed_blocks=10), blocks=blocks))
        assert outcome.unknown and outcome.leaves[0].unknown

    def test_no_fact_is_unmet(self):
        assert not evaluate(self.leaf(0), state(blocks={C1: 10})).met
        assert not evaluate(self.leaf(50), state()).unknown  # nothing completed: unmet whatever the total

    def test_an_unknown_completion_leaves_the_rest_of_a_group_to_decide(self):
        learner = state(fact(C1, COMPLETION, completed_blocks=10), fact(C2, PASSING, passed=True))
        unknown_and_met = {"type": "all", "of": [self.leaf(50), passed(C2)]}
        assert evaluate(unknown_and_met, learner).unknown
        assert evaluate({"type": "any", "of": [self.leaf(50), passed(C2)]}, learner).met
        assert not evaluate({"type": "all", "of": [self.leaf(50), passed(C3)]}, learner).unknown  # C3 is known unmet
        assert evaluate({"type": "at_least", "n": 2, "of": [self.leaf(50), passed(C2), passed(C3)]}, learner).unknown

    def test_a_course_the_platform_no_longer_knows_revokes_nothing(self):
        learner = state(fact(C1, COMPLETION, completed_blocks=10), held={"finisher", "gone"}, blocks={})
        decisions = by_slug(rules.decide([rule("finisher", self.leaf(50), revoke=True),
                                          rule("gone", passed(C2), revoke=True)], learner))
        assert decisions["finisher"].held_after and not decisions["finisher"].revoke
        assert decisions["gone"].revoke  # a known unmet requirement still revokes under this policy

    def test_zero_minimum_with_known_total(self):
        assert evaluate(self.leaf(0), state(fact(C1, COMPLETION, completed_blocks=0), blocks={C1: 10})).met


class TestCertificate:
    """certificate: its status and, where required, its mode."""

    @pytest.mark.parametrize("status, mode, required, met", [
        ("downloadable", "verified", None, True),
        ("downloadable", "honor", None, True),
        ("downloadable", "verified", "verified", True),
        ("downloadable", "honor", "verified", False),
        ("notpassing", "verified", "verified", False),
        ("unavailable", "verified", None, False),
    ])
    def test_status_and_mode(self, status, mode, required, met):
        data = {"type": "certificate", "course": C1}
        if required:
            data["mode"] = required
        outcome = evaluate(data, state(fact(C1, CERTIFICATE, status=status, mode=mode)))
        assert outcome.met is met and outcome.fraction == (1.0 if met else 0.0)

    def test_no_certificate(self):
        assert not evaluate({"type": "certificate", "course": C1}, state()).met


class TestEnrolled:
    """enrolled: an active enrolment, in one of the modes if they are given."""

    @pytest.mark.parametrize("is_active, mode, modes, met", [
        (True, "audit", None, True),
        (False, "audit", None, False),
        (True, "verified", ["verified", "professional"], True),
        (True, "audit", ["verified", "professional"], False),
        (False, "verified", ["verified"], False),
    ])
    def test_active_and_mode(self, is_active, mode, modes, met):
        data = {"type": "enrolled", "course": C1}
        if modes:
            data["modes"] = modes
        enrollment = fact(C1, ENROLLMENT, is_active=is_active, mode=mode)
        outcome = evaluate(data, state(enrollment))
        assert outcome.met is met
        assert outcome.leaves[0].facts == (enrollment,)

    def test_not_enrolled(self):
        assert not evaluate({"type": "enrolled", "course": C1}, state()).met


class TestCredentialLeaf:
    """A required credential: met when held, its progress otherwise (never full)."""

    def test_held(self):
        outcome = evaluate(cred("bronze"), state(held={"bronze"}, progress={"bronze": 0.2}))
        assert (outcome.met, outcome.fraction, outcome.leaves[0].facts) == (True, 1.0, ())

    def test_not_held_uses_progress(self):
        outcome = evaluate(cred("bronze"), state(held={"silver"}, progress={"bronze": 0.4}))
        assert (outcome.met, outcome.leaves[0].fraction) == (False, 0.4)

    def test_not_held_full_progress_is_not_full(self):
        outcome = evaluate(cred("bronze"), state(progress={"bronze": 1.0}))
        assert not outcome.met and outcome.fraction < 1.0

    def test_unknown_progress_is_zero(self):
        assert evaluate(cred("bronze"), state()).fraction == 0.0


# --- Groups -----------------------------------------------------------------------------------


def progress_tree(kind, fractions, n=None):
    data = {"type": kind, "of": [cred(f"c{i}") for i in range(len(fractions))]}
    if n is not None:
        data["n"] = n
    return data


def progress_state(fractions):
    held = {f"c{i}" for i, f in enumerate(fractions) if f == 1.0}
    return state(held=held, progress={f"c{i}": f for i, f in enumerate(fractions) if f != 1.0})


class TestGroups:
    """Groups' fractions and met, nested groups and leaves."""

    @pytest.mark.parametrize("kind, n, fractions, met, fraction", [
        # The share of the needed requirements met: a requirement not met counts nothing.
        ("all", None, [0.2, 0.4, 0.9], False, 0.0),
        ("all", None, [1.0, 0.5], False, 0.5),
        ("all", None, [1.0, 1.0], True, 1.0),
        ("any", None, [0.2, 0.7, 0.1], False, 0.0),
        ("any", None, [0.2, 1.0], True, 1.0),
        ("at_least", 2, [0.1, 0.6, 0.8, 0.3], False, 0.0),
        ("at_least", 2, [1.0, 0.6, 0.8, 0.3], False, 0.5),
        ("at_least", 2, [1.0, 0.6, 1.0, 0.3], True, 1.0),
        ("at_least", 1, [0.5, 0.25], False, 0.0),
        ("at_least", 3, [1.0, 0.25, 1.0], False, 2 / 3),
    ])
    def test_fractions(self, kind, n, fractions, met, fraction):
        outcome = evaluate(progress_tree(kind, fractions, n), progress_state(fractions))
        assert outcome.met is met
        assert outcome.fraction == pytest.approx(fraction)
        assert outcome.fraction == pytest.approx(outcome.met_count / outcome.needed)

    @pytest.mark.parametrize("kind, n, fractions", [
        ("all", None, [0.9999, 1.0, 1.0, 1.0]),
        ("any", None, [0.9995, 0.9999, 0.2]),
        ("at_least", 2, [1.0, 0.9999, 0.2]),
        ("at_least", 3, [1.0, 1.0, 0.99999, 1.0 - 1e-12]),
    ])
    def test_unmet_group_never_reports_one(self, kind, n, fractions):
        outcome = evaluate(progress_tree(kind, fractions, n), progress_state(fractions))
        assert not outcome.met and outcome.fraction < 1
        assert outcome.fraction == outcome.met_count / outcome.needed
        inner = progress_state(fractions)
        outer = evaluate({"type": "all", "of": [progress_tree(kind, fractions, n), cred("held")]},
                         state(held={"held"} | inner.held, progress=inner.progress))
        assert not outer.met and outer.fraction == 0.5

    def test_nested_group_and_leaves(self):
        tree = {"type": "all", "of": [
            passed(C1),
            {"type": "at_least", "n": 2, "of": [grade(C2, 50), cred("x"), {"type": "enrolled", "course": C3}]},
        ]}
        learner = state(
            fact(C1, PASSING, event_id="p1", passed=True),
            fact(C2, GRADE, event_id="g2", percent=0.25),
            fact(C3, ENROLLMENT, event_id="e3", is_active=True, mode="audit"),
        )
        outcome = evaluate(tree, learner)
        # all of [met, at_least 2 of (not met, not met, met): not met] -> 1 of 2
        assert not outcome.met and outcome.fraction == 0.5 and (outcome.met_count, outcome.needed) == (1, 2)
        assert [leaf.path for leaf in outcome.leaves] == [
            "criteria.of[0]", "criteria.of[1].of[0]", "criteria.of[1].of[1]", "criteria.of[1].of[2]"]
        assert [leaf.path for leaf in outcome.met_leaves] == ["criteria.of[0]", "criteria.of[1].of[2]"]
        assert [leaf.path for leaf in outcome.missing_leaves] == ["criteria.of[1].of[0]", "criteria.of[1].of[1]"]
        evidence = {leaf.path: [f.event_id for f in leaf.facts] for leaf in outcome.met_leaves}
        assert evidence == {"criteria.of[0]": ["p1"], "criteria.of[1].of[2]": ["e3"]}
        learner = state(*learner.facts.values(), held={"x"})
        assert evaluate(tree, learner).met


# --- Ordering and closure ---------------------------------------------------------------------


STACK = {
    "bronze": passed(C1),
    "silver": group_of(cred("bronze"), passed(C2)),
    "gold": group_of(cred("silver"), passed(C3)),
    "other": group_of(cred("bronze"), {"type": "enrolled", "course": C4}, kind="any"),
}


def test_course_closure_is_transitive():
    closure = rules.course_closure(catalog(**STACK))
    assert closure == {"bronze": {C1}, "silver": {C1, C2}, "gold": {C1, C2, C3}, "other": {C1, C4}}


def test_course_closure_ignores_unknown_credentials():
    assert rules.course_closure(catalog(a=group_of(cred("ghost"), passed(C2)))) == {"a": {C2}}


@pytest.mark.parametrize("order", [
    ["gold", "silver", "bronze", "other"], ["other", "gold", "bronze", "silver"],
    ["bronze", "silver", "gold", "other"]])
def test_dependency_order_is_topological(order):
    rule_list = [rule(slug, STACK[slug]) for slug in order]
    ordered = [r.slug for r in rules.dependency_order(rule_list)]
    assert sorted(ordered) == sorted(order)
    position = {slug: i for i, slug in enumerate(ordered)}
    assert position["bronze"] < position["silver"] < position["gold"]
    assert position["bronze"] < position["other"]


# --- Decisions --------------------------------------------------------------------------------


LEVELS = {
    "bronze": passed(C1),
    "silver": group_of(cred("bronze"), grade(C2, 70)),
    "gold": group_of(cred("silver"), {"type": "certificate", "course": C3, "mode": "verified"}),
}

ALL_DONE = (
    fact(C1, PASSING, 1, event_id="pass-c1", passed=True),
    fact(C2, GRADE, 2, event_id="grade-c2", percent=0.7, passed=True),
    fact(C3, CERTIFICATE, 3, event_id="cert-c3", status="downloadable", mode="verified"),
)


class TestDecide:
    """rules.decide: awards and revocations, cascading through stacks in one call, by revocation policy."""

    @pytest.mark.parametrize("order", [["gold", "silver", "bronze"], ["silver", "gold", "bronze"]])
    def test_vertical_levels_awarded_in_one_call_whatever_the_input_order(self, order):
        decisions = rules.decide([rule(slug, LEVELS[slug]) for slug in order], state(*ALL_DONE))
        assert [d.slug for d in decisions] == ["bronze", "silver", "gold"]
        assert all(d.award and not d.revoke and d.outcome.met for d in decisions)

    def test_cascade_stops_where_criteria_stop(self):
        learner = state(*ALL_DONE[:2])
        decisions = by_slug(rules.decide([rule(s, t) for s, t in LEVELS.items()], learner))
        assert decisions["bronze"].award and decisions["silver"].award
        assert not decisions["gold"].award and not decisions["gold"].held_after
        # gold: all of [silver (met, 1.0), certificate (0.0)]
        assert decisions["gold"].outcome.fraction == 0.5

    def test_met_child_makes_the_stack_met_in_the_same_call(self):
        learner = state(fact(C1, PASSING, passed=True))
        decisions = by_slug(rules.decide(
            [rule("stack", group_of(cred("child"))), rule("child", passed(C1))], learner))
        assert decisions["child"].award and decisions["stack"].award

    def test_stacks_see_the_progress_computed_in_the_call(self):
        learner = state(fact(C2, GRADE, percent=0.35), progress={"bronze": 0.9})
        decisions = by_slug(rules.decide([rule("silver", LEVELS["silver"]), rule("bronze", LEVELS["bronze"])], learner))
        # bronze's progress is re-evaluated to 0.0 here, not the stale 0.9; the grade is not met: 0 of 2
        assert decisions["bronze"].outcome.fraction == 0.0
        assert decisions["silver"].outcome.fraction == 0.0
        assert decisions["silver"].outcome.leaves[0].fraction == 0.0

    def test_keep_policy_keeps_a_held_credential_whose_criteria_fail(self):
        learner = state(fact(C1, PASSING, passed=False), held={"bronze"})
        decision = decide_one(rule("bronze", LEVELS["bronze"]), learner)
        assert not decision.outcome.met
        assert decision.held_before and decision.held_after
        assert not decision.award and not decision.revoke

    def test_kept_credential_still_counts_for_stacks(self):
        learner = state(fact(C1, PASSING, passed=False), fact(C2, GRADE, percent=0.9), held={"bronze"})
        decisions = by_slug(rules.decide([rule("bronze", LEVELS["bronze"]), rule("silver", LEVELS["silver"])], learner))
        assert decisions["bronze"].held_after and decisions["silver"].award

    def test_revoke_when_unmet(self):
        learner = state(fact(C1, PASSING, passed=False), held={"bronze"})
        decision = decide_one(rule("bronze", LEVELS["bronze"], revoke=True), learner)
        assert decision.held_before and not decision.held_after
        assert decision.revoke and not decision.award

    def test_revocation_cascades_to_revocable_stacks_only(self):
        learner = state(fact(C1, PASSING, passed=False), fact(C2, GRADE, percent=0.9), held={"bronze", "silver", "x"})
        decisions = by_slug(rules.decide([
            rule("bronze", LEVELS["bronze"], revoke=True),
            rule("silver", LEVELS["silver"], revoke=True),
            rule("other", group_of(cred("bronze")), revoke=True),
        ], learner))
        assert decisions["bronze"].revoke and decisions["silver"].revoke
        assert not decisions["other"].revoke and not decisions["other"].held_after  # never held: nothing to revoke
        learner = state(*learner.facts.values(), held={"bronze", "silver"})
        decisions = by_slug(rules.decide([
            rule("bronze", LEVELS["bronze"], revoke=True), rule("silver", LEVELS["silver"])], learner))
        assert decisions["bronze"].revoke and decisions["silver"].held_after and not decisions["silver"].revoke

    def test_revoked_then_met_is_awarded_again(self):
        learner = state(fact(C1, PASSING, passed=True), held=set())  # the old award was revoked: not held
        decision = decide_one(rule("bronze", LEVELS["bronze"], revoke=True), learner)
        assert (decision.held_before, decision.held_after, decision.award) == (False, True, True)

    def test_held_and_met_is_neither_award_nor_revoke(self):
        learner = state(fact(C1, PASSING, passed=True), held={"bronze"})
        decision = decide_one(rule("bronze", LEVELS["bronze"], revoke=True), learner)
        assert decision.held_before and decision.held_after and not decision.award and not decision.revoke

    @pytest.mark.parametrize("revoke", [False, True])
    def test_never_revokes_what_is_not_held(self, revoke):
        decision = decide_one(rule("bronze", LEVELS["bronze"], revoke=revoke), state())
        assert not decision.held_before and not decision.held_after
        assert not decision.revoke and not decision.award

    def test_unevaluated_children_come_from_the_state(self):
        learner = state(fact(C2, GRADE, percent=0.9), held={"bronze"})
        decision = decide_one(rule("silver", LEVELS["silver"]), learner)
        assert decision.award
        decision = decide_one(rule("silver", LEVELS["silver"]), state(progress={"bronze": 0.5}))
        assert decision.outcome.fraction == 0.0 and decision.outcome.leaves[0].fraction == 0.5

    def test_evidence_carries_the_facts_that_met_each_leaf(self):
        decisions = by_slug(rules.decide([rule(s, t) for s, t in LEVELS.items()], state(*ALL_DONE)))
        evidence = {
            slug: {leaf.path: [f.event_id for f in leaf.facts] for leaf in d.outcome.met_leaves}
            for slug, d in decisions.items()
        }
        assert evidence == {
            "bronze": {"criteria": ["pass-c1"]},
            "silver": {"criteria.of[0]": [], "criteria.of[1]": ["grade-c2"]},
            "gold": {"criteria.of[0]": [], "criteria.of[1]": ["cert-c3"]},
        }
