"""
Property-based tests of the rules engine against an independent reference evaluator.

The reference works directly on the JSON form of the criteria with plain recursion and exact
(decimal / rational) arithmetic for thresholds. It only borrows the engine's data containers
(``Fact``, ``LearnerState``) and its entry points; none of its logic.
"""

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from openedx_microcred import rules
from openedx_microcred.rules import CredentialRule, Fact, Group, LearnerState, decide, parse_criteria

from .criteria_strategies import COURSES, CREDENTIALS, MODES, criteria

CERTIFICATE_STATUSES = ["downloadable", "notpassing", "unavailable", "generating"]
T0 = datetime(2026, 9, 1, 12, 0, tzinfo=timezone.utc)

# Fact kinds, spelled out rather than imported: the reference is written from the documentation.
GRADE, PASSING, COMPLETION, CERTIFICATE, ENROLLMENT = "grade", "passing", "completion", "certificate", "enrollment"

# Documented: a requirement that is not met never reports full progress; it is capped at 0.999.
CAP = 0.999

# Sized so that the whole file runs in well under 30 s.
PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- Strategies -------------------------------------------------------------------------------

grade_percents = st.one_of(
    st.integers(0, 100).map(lambda hundredths: hundredths / 100),
    st.integers(0, 10000).map(lambda x: x / 10000),
    st.sampled_from([0.0, 0.29, 0.57, 0.58, 0.8, 1.0]),  # x * 100 is not exactly 100x for these three
)
FACT_VALUES = {
    GRADE: st.one_of(
        st.fixed_dictionaries({"percent": grade_percents, "passed": st.booleans()}),
        st.fixed_dictionaries({"passed": st.booleans()}),  # a grade without a percent: not a grade
    ),
    PASSING: st.fixed_dictionaries({"passed": st.booleans()}),
    COMPLETION: st.one_of(st.fixed_dictionaries({"completed_blocks": st.integers(0, 15)}), st.just({})),
    CERTIFICATE: st.fixed_dictionaries({"status": st.sampled_from(CERTIFICATE_STATUSES),
                                        "mode": st.sampled_from(MODES)}),
    ENROLLMENT: st.fixed_dictionaries({"is_active": st.booleans(), "mode": st.sampled_from(MODES)}),
}
# progress close to 1 is where the "never full unless met" cap shows
fractions = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.5, 0.999, 0.9995, 0.99999, 1.0]))


def facts(course, kind):
    """A fact with a plausible value, and a time and an event id from small pools."""
    # few distinct times, so passing and grade facts often tie on time and the event id decides
    return st.builds(
        Fact, st.just(course), st.just(kind), FACT_VALUES[kind],
        st.integers(0, 30).map(lambda i: f"ev-{i:02d}-{kind}"),
        st.integers(0, 2).map(lambda minutes: T0 + timedelta(minutes=minutes)),
    )


def facts_for(course, kind):
    """No fact (one time in three) or a fact."""
    return st.one_of(st.none(), facts(course, kind), facts(course, kind))


ALL_FACTS = st.tuples(*(facts_for(course, kind) for course in COURSES for kind in FACT_VALUES)).map(
    lambda drawn: {(f.course_key, f.kind): f for f in drawn if f is not None})


# Completable blocks per course: unknown (missing or None), 0, or a count.
BLOCKS = st.tuples(*(
    st.one_of(st.just("missing"), st.none(), st.just(0), st.integers(1, 12), st.integers(1, 12)) for _ in COURSES
)).map(lambda counts: {course: n for course, n in zip(COURSES, counts) if n != "missing"})


@functools.lru_cache(maxsize=None)
def learner_states(credentials=tuple(CREDENTIALS)):
    """Facts for random (course, kind) pairs, held credentials, progress and completable block counts."""
    credentials = st.sampled_from(list(credentials))
    return st.builds(
        LearnerState,
        facts=ALL_FACTS,
        held=st.frozensets(credentials),
        progress=st.dictionaries(credentials, fractions),
        completable_blocks=BLOCKS,
    )


# --- The reference evaluator ------------------------------------------------------------------


@dataclass
class Ref:
    met: bool
    fraction: float
    leaves: list  # (path, met, fraction, evidence event ids, unknown)
    unknown: bool = False  # not met, and it would take data the platform lacks to say it never will be


def exact(number):
    """The decimal a JSON number or a stored percent means, as an exact rational."""
    return Fraction(Decimal(repr(float(number))))


def ref_leaf(node, state):
    """(met, raw progress, ids of the facts that decided it) for one leaf."""
    kind = node["type"]
    if kind == "credential":
        if node["credential"] in state.held:
            return True, 1.0, ()
        return False, state.progress.get(node["credential"], 0.0), ()
    course = node["course"]
    facts = state.facts
    if kind == "course_passed":
        candidates = [f for f in (facts.get((course, PASSING)), facts.get((course, GRADE))) if f is not None]
        if not candidates:
            return False, 0.0, ()
        latest = sorted(candidates, key=lambda f: (f.event_time, f.event_id))[-1]
        return bool(latest.value.get("passed")), 0.0, (latest.event_id,)
    if kind == "course_grade":
        grade = facts.get((course, GRADE))
        if grade is None or grade.value.get("percent") is None:
            return False, 0.0, ()
        percent = exact(grade.value["percent"]) * 100  # the fact holds 0..1, the criteria 0..100
        minimum = exact(node["min_percent"])
        met = percent >= minimum
        return met, (float(percent) / float(minimum) if minimum else 1.0), (grade.event_id,)
    if kind == "course_completion":
        completion = facts.get((course, COMPLETION))
        total = state.completable_blocks.get(course)
        if completion is None or not total:
            return False, 0.0, ()
        done = min(completion.value.get("completed_blocks", 0), total)
        percent = Fraction(100 * done, total)
        minimum = exact(node.get("min_percent", 100))
        return percent >= minimum, (float(percent) / float(minimum) if minimum else 1.0), (completion.event_id,)
    if kind == "certificate":
        certificate = facts.get((course, CERTIFICATE))
        if certificate is None:
            return False, 0.0, ()
        met = certificate.value["status"] == "downloadable" and node.get("mode") in (None, certificate.value["mode"])
        return met, 0.0, (certificate.event_id,)
    if kind == "enrolled":
        enrollment = facts.get((course, ENROLLMENT))
        if enrollment is None:
            return False, 0.0, ()
        modes = node.get("modes") or []
        met = enrollment.value["is_active"] and (not modes or enrollment.value["mode"] in modes)
        return met, 0.0, (enrollment.event_id,)
    raise AssertionError(f"unexpected leaf {node}")


def ref_eval(node, state, path="criteria"):
    """The reference evaluation of the criteria ``node`` for ``state``, written apart from rules.py."""
    if node["type"] in ("all", "any", "at_least"):
        results = [ref_eval(child, state, f"{path}.of[{i}]") for i, child in enumerate(node["of"])]
        needed = {"all": len(results), "any": 1}.get(node["type"]) or node["n"]
        met = len([r for r in results if r.met]) >= needed
        # The share of the needed requirements that are met: no partial credit (catalog-format.md).
        fraction = 1.0 if met else len([r for r in results if r.met]) / needed
        unknown = not met and len([r for r in results if r.met or r.unknown]) >= needed
        return Ref(met, fraction, [leaf for r in results for leaf in r.leaves], unknown)
    met, raw, evidence = ref_leaf(node, state)
    fraction = 1.0 if met else min(max(raw, 0.0), CAP)
    # A completion the learner has made in a course whose completable blocks the platform does not know.
    unknown = (not met and node["type"] == "course_completion" and (node["course"], COMPLETION) in state.facts
               and not state.completable_blocks.get(node["course"]))
    # The leaf says how close it is; as a requirement it is met or not.
    return Ref(met, 1.0 if met else 0.0, [(path, met, fraction, evidence, unknown)], unknown)


def leaf_paths(node, path="criteria"):
    if node["type"] in ("all", "any", "at_least"):
        return [p for i, child in enumerate(node["of"]) for p in leaf_paths(child, f"{path}.of[{i}]")]
    return [path]


def credential_refs(node):
    if node["type"] in ("all", "any", "at_least"):
        return set().union(*(credential_refs(child) for child in node["of"]))
    return {node["credential"]} if node["type"] == "credential" else set()


# --- Evaluation properties --------------------------------------------------------------------


@PROPERTIES
@given(tree=criteria(), state=learner_states())
@example(  # 0.57 * 100 == 56.99999999999999 in floating point
    tree={"type": "any", "of": [{"type": "course_grade", "course": COURSES[0], "min_percent": 57}]},
    state=LearnerState(facts={(COURSES[0], GRADE): Fact(COURSES[0], GRADE, {"percent": 0.57}, "ev-1", T0)}),
)
def test_engine_agrees_with_reference(tree, state):
    expected = ref_eval(tree, state)
    outcome = parse_criteria(tree).evaluate(state)
    assert outcome.met == expected.met
    assert outcome.unknown == expected.unknown
    assert outcome.fraction == pytest.approx(expected.fraction, abs=1e-9)
    assert [leaf.path for leaf in outcome.leaves] == [path for path, *_ in expected.leaves]
    for leaf, (path, met, fraction, evidence, unknown) in zip(outcome.leaves, expected.leaves):
        assert leaf.met == met, path
        assert leaf.unknown == unknown, path
        assert leaf.fraction == pytest.approx(fraction, abs=1e-9), path
        if met:  # the evidence: exactly the facts that met the leaf
            assert tuple(f.event_id for f in leaf.facts) == evidence, path


@PROPERTIES
@given(hundredths=st.integers(0, 100), delta=st.integers(-2, 2))
@example(hundredths=57, delta=0)
def test_two_decimal_grade_meets_whole_percent_threshold_iff_not_below(hundredths, delta):
    minimum = min(max(hundredths + delta, 0), 100)
    state = LearnerState(facts={(COURSES[0], GRADE): Fact(COURSES[0], GRADE, {"percent": hundredths / 100}, "e", T0)})
    outcome = parse_criteria({"type": "course_grade", "course": COURSES[0], "min_percent": minimum}).evaluate(state)
    assert outcome.met == (hundredths >= minimum)


@PROPERTIES
@given(passing=st.one_of(st.none(), facts(COURSES[0], PASSING)), grade=st.one_of(st.none(), facts(COURSES[0], GRADE)))
def test_course_passed_follows_the_latest_of_passing_and_grade(passing, grade):
    state = LearnerState(facts={(f.course_key, f.kind): f for f in (passing, grade) if f is not None})
    outcome = parse_criteria({"type": "course_passed", "course": COURSES[0]}).evaluate(state)
    if passing is None and grade is None:
        assert not outcome.met and outcome.leaves[0].facts == ()
        return
    if passing is None or grade is None:
        latest = passing or grade
    elif (grade.event_time, grade.event_id) > (passing.event_time, passing.event_id):
        latest = grade
    else:
        latest = passing
    assert outcome.met == bool(latest.value.get("passed"))
    assert outcome.leaves[0].facts == (latest,)


@PROPERTIES
@given(
    tree=criteria(depth=3, course_leaves=False),
    held=st.frozensets(st.sampled_from(CREDENTIALS)),
    progress=st.dictionaries(st.sampled_from(CREDENTIALS), st.sampled_from([0.99, 0.999, 0.9995, 0.99999, 1.0])),
)
def test_almost_done_is_not_done(tree, held, progress):
    # stacks whose requirements are all met or nearly so: where the cap below 1.0 matters
    state = LearnerState(held=held, progress=progress)
    expected = ref_eval(tree, state)
    outcome = parse_criteria(tree).evaluate(state)
    assert outcome.met == expected.met
    assert outcome.fraction == pytest.approx(expected.fraction, abs=1e-9)


def subtrees(node):
    yield node
    if isinstance(node, Group):
        for child in node.children:
            yield from subtrees(child)


@PROPERTIES
@given(tree=criteria(), state=learner_states())
def test_fraction_is_in_range_and_full_only_when_met(tree, state):
    for node in subtrees(parse_criteria(tree)):
        outcome = node.evaluate(state)
        assert 0.0 <= outcome.fraction <= 1.0
        assert (outcome.fraction == 1.0) == outcome.met, node.path
        for leaf in outcome.leaves:
            assert 0.0 <= leaf.fraction <= 1.0
            assert (leaf.fraction == 1.0) == leaf.met, leaf.path


@PROPERTIES
@given(tree=criteria(), state=learner_states())
def test_to_dict_round_trip(tree, state):
    parsed = parse_criteria(tree)
    data = parsed.to_dict()
    again = parse_criteria(json.loads(json.dumps(data)))
    assert again == parsed
    assert again.to_dict() == data
    assert again.evaluate(state) == parsed.evaluate(state)


@PROPERTIES
@given(tree=criteria(), state=learner_states())
def test_every_leaf_once_split_into_met_and_missing(tree, state):
    outcome = parse_criteria(tree).evaluate(state)
    paths = [leaf.path for leaf in outcome.leaves]
    assert paths == leaf_paths(tree)
    assert len(set(paths)) == len(paths)
    met = {leaf.path for leaf in outcome.met_leaves}
    missing = {leaf.path for leaf in outcome.missing_leaves}
    assert met | missing == set(paths) and not met & missing
    assert all(leaf.met for leaf in outcome.met_leaves) and not any(leaf.met for leaf in outcome.missing_leaves)


# --- Decisions --------------------------------------------------------------------------------

SLUGS = ["s0", "s1", "s2", "s3", "s4", "s5"]
EXTERNAL = ["ext-x", "ext-y"]  # credentials outside the catalog being decided: held or not, with progress


@st.composite
def catalogs(draw):
    """2..6 credentials forming a DAG: each may require those before it in a hidden order."""
    size = draw(st.integers(2, 6))
    order = draw(st.permutations(SLUGS))[:size]
    trees = {}
    for i, slug in enumerate(order):
        # shallow trees, so that stacks are often met through what they require
        depth = draw(st.integers(1, 3))
        trees[slug] = draw(criteria(depth=depth, credentials=tuple(order[:i]) + tuple(EXTERNAL)))
    revoke = {slug: draw(st.booleans()) for slug in order}
    given_order = draw(st.permutations(order))
    return trees, revoke, given_order


def ref_decide(trees, revoke, state):
    """The fixed point: who holds what once every credential agrees with what it requires."""
    held, progress = set(state.held), dict(state.progress)
    for _ in range(len(trees) + 2):
        before = (frozenset(held), dict(progress))
        for slug, tree in trees.items():
            result = ref_eval(tree, LearnerState(state.facts, frozenset(held), progress, state.completable_blocks))
            if result.met or (slug in state.held and (not revoke[slug] or result.unknown)):
                held.add(slug)
            else:
                held.discard(slug)
            progress[slug] = result.fraction
        if (frozenset(held), progress) == before:
            return held, progress
    raise AssertionError("no fixed point: the catalog is not a DAG")


@FEWER
@given(data=st.data())
def test_decide_matches_reference_fixed_point(data):
    trees, revoke, given_order = data.draw(catalogs())
    state = data.draw(learner_states(credentials=tuple(trees) + tuple(EXTERNAL)))
    rule_list = [CredentialRule(slug, parse_criteria(trees[slug]), revoke[slug]) for slug in given_order]
    decisions = decide(rule_list, state)

    held, progress = ref_decide(trees, revoke, state)
    assert sorted(d.slug for d in decisions) == sorted(trees)
    position = {d.slug: i for i, d in enumerate(decisions)}
    for d in decisions:
        for ref in credential_refs(trees[d.slug]) & set(trees):
            assert position[ref] < position[d.slug], "a stack was decided before what it requires"
        assert d.held_before == (d.slug in state.held)
        assert d.held_after == (d.slug in held), d.slug
        assert d.award == (d.slug in held and d.slug not in state.held)
        assert d.revoke == (d.slug in state.held and d.slug not in held)
        assert not (d.revoke and not d.held_before)
        if d.revoke:
            assert revoke[d.slug] and not d.outcome.met and not d.outcome.unknown
        assert d.outcome.fraction == pytest.approx(progress[d.slug], abs=1e-9)
        final = LearnerState(state.facts, frozenset(held), progress, state.completable_blocks)
        assert d.outcome.met == ref_eval(trees[d.slug], final).met


# --- Catalog graphs ---------------------------------------------------------------------------


@st.composite
def graphs(draw):
    """Credentials requiring arbitrary others (cycles, self-references, unknown slugs all possible)."""
    slugs = SLUGS[: draw(st.integers(1, 5))]
    edges = {slug: draw(st.sets(st.sampled_from(slugs + ["ghost"]), max_size=3)) for slug in slugs}
    courses = {slug: draw(st.sets(st.sampled_from(COURSES), min_size=1, max_size=2)) for slug in slugs}
    return edges, courses


def graph_catalog(edges, courses):
    """The parsed catalog of a graph: each credential requires all of its courses and the credentials it points to."""
    return {
        slug: parse_criteria({"type": "all", "of": [{"type": "course_passed", "course": c}
                                                    for c in sorted(courses[slug])]
                              + [{"type": "credential", "credential": r} for r in sorted(edges[slug])]})
        for slug in edges
    }


def has_cycle(edges):
    """Whether the credentials' references (dangling ones left out) hold a cycle: a self-reference counts."""
    remaining = {slug: {r for r in refs if r in edges} for slug, refs in edges.items()}
    while True:
        sinks = [slug for slug, refs in remaining.items() if not refs & set(remaining)]
        if not sinks:
            return bool(remaining)
        for slug in sinks:
            del remaining[slug]


@FEWER
@given(graph=graphs())
def test_validate_catalog_rejects_exactly_dangling_references_and_cycles(graph):
    edges, courses = graph
    cat = graph_catalog(edges, courses)
    dangling = {slug for slug, refs in edges.items() if refs - set(edges)}
    selfref = {slug for slug, refs in edges.items() if slug in refs}
    cyclic = has_cycle(edges)
    long_cycle = has_cycle({slug: refs - {slug} for slug, refs in edges.items()})
    if not (dangling or cyclic):
        assert rules.validate_catalog(cat) is None
        return
    with pytest.raises(ValidationError) as raised:
        rules.validate_catalog(cat)
    errors = raised.value.message_dict
    assert set(errors) <= set(edges)
    for slug in dangling:
        assert "criteria: requires unknown credential 'ghost'" in errors[slug]
    for slug in selfref:
        assert f"criteria: '{slug}' requires itself" in errors[slug]
    cycles = [m for messages in errors.values() for m in messages if "dependency cycle" in m]
    assert bool(cycles) == long_cycle
    for message in cycles:
        chain = message.removeprefix("criteria: dependency cycle ").split(" → ")
        assert len(chain) >= 3 and chain[0] == chain[-1]
        assert all(b in edges[a] for a, b in zip(chain, chain[1:])), message


@FEWER
@given(graph=graphs(), shuffle=st.randoms(use_true_random=False))
def test_dependency_order_and_course_closure(graph, shuffle):
    edges, courses = graph
    cat = graph_catalog(edges, courses)
    rule_list = [CredentialRule(slug, tree) for slug, tree in cat.items()]
    shuffle.shuffle(rule_list)
    ordered = [r.slug for r in rules.dependency_order(rule_list)]
    assert sorted(ordered) == sorted(edges)  # every rule exactly once, cycles or not
    if has_cycle(edges):
        return
    for i, slug in enumerate(ordered):
        assert edges[slug] & set(edges) <= set(ordered[:i])

    def reachable(slug):
        seen, todo = set(), [slug]
        while todo:
            current = todo.pop()
            if current in edges and current not in seen:
                seen.add(current)
                todo.extend(edges[current])
        return seen

    expected = {slug: set().union(*(courses[r] for r in reachable(slug))) for slug in edges}
    assert rules.course_closure(cat) == expected
