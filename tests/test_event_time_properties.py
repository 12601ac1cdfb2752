"""
Property: the outcome is a function of the set of events (docs/decisions/0016).

Random catalogs (credentials on two courses, a level that requires another, a stack, both
revocation policies) and random histories (grades up and down, passing, certificates, enrolment
changes), sent through the real receivers and evaluations (the Django test database, tasks run
eagerly): every arrival order, with duplicates, all of them at once before any evaluation, and
two learners' streams interleaved and evaluated in one micro-batch, give the same active awards,
earned times and progress as the stream in time order.
"""

import itertools
from uuid import NAMESPACE_URL, uuid5

from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openedx_microcred.models import Award, Credential, Progress

from . import events

RUNS = settings(max_examples=20, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
_examples = itertools.count()

KEEP, REVOKE = Credential.RevocationPolicy.KEEP, Credential.RevocationPolicy.REVOKE_WHEN_UNMET


def leaves(course):
    return st.one_of(
        st.just({"type": "course_passed", "course": course}),
        st.sampled_from([50, 70, 80]).map(lambda m: {"type": "course_grade", "course": course, "min_percent": m}),
        st.just({"type": "certificate", "course": course}),
        st.sampled_from([[], ["verified"]]).map(lambda modes: {"type": "enrolled", "course": course, "modes": modes}),
    )


@st.composite
def catalogs(draw):
    """(courses, [(slug, criteria, policy)]): two base credentials, a level over the first, a stack over them."""
    n = next(_examples)
    c1, c2 = f"course-v1:Prop{n}+A+2026", f"course-v1:Prop{n}+B+2026"
    policy = st.sampled_from([KEEP, REVOKE])
    base1 = draw(st.one_of(leaves(c1), st.lists(leaves(c1), min_size=2, max_size=2).map(
        lambda of: {"type": "any", "of": of})))
    base2 = draw(leaves(c2))
    level = {"type": "all", "of": [{"type": "credential", "credential": f"p{n}-one"}, draw(leaves(c2))]}
    group = draw(st.sampled_from(["all", "any", "at_least"]))
    stack = {"type": group, "of": [{"type": "credential", "credential": f"p{n}-{s}"} for s in ("one", "two", "level")]}
    if group == "at_least":
        stack["n"] = 2
    entries = [(f"p{n}-one", base1, draw(policy)), (f"p{n}-two", base2, draw(policy)),
               (f"p{n}-level", level, draw(policy)), (f"p{n}-stack", stack, draw(policy))]
    return f"Prop{n}", (c1, c2), entries


def event_kinds(course):
    return st.one_of(
        st.tuples(st.just("passing"), st.just(course), st.booleans()),
        st.tuples(st.just("grade"), st.just(course), st.sampled_from([0.3, 0.55, 0.75, 0.85])),
        st.tuples(st.just("certificate"), st.just(course), st.sampled_from(["downloadable", "notpassing"])),
        st.tuples(st.just("enrollment"), st.just(course),
                  st.tuples(st.booleans(), st.sampled_from(["audit", "verified"]))),
    )


@st.composite
def scenarios(draw):
    """(org, catalog, history in time order, arrival order): the history shuffled, a few events sent twice."""
    org, courses, catalog = draw(catalogs())
    kinds = draw(st.lists(st.one_of(*(event_kinds(c) for c in courses)), min_size=2, max_size=6))
    minutes = draw(st.lists(st.integers(1, 600), min_size=len(kinds), max_size=len(kinds), unique=True))
    history = [(m, f"{catalog[0][0]}-e{i}", kind) for i, (m, kind) in enumerate(zip(minutes, kinds))]
    shuffled = draw(st.permutations(history))
    duplicated = draw(st.lists(st.sampled_from(history), max_size=3))
    spots = draw(st.lists(st.integers(0, len(history)), min_size=len(duplicated), max_size=len(duplicated)))
    arrival = list(shuffled)
    for event, spot in zip(duplicated, spots):
        arrival.insert(spot, event)
    return org, catalog, history, arrival


def send(user, event):
    """Send one event of a scenario, ``(minutes, name, (kind, course, value))``, for ``user``."""
    minutes, name, (kind, course, value) = event
    when, eid = events.at(minutes), uuid5(NAMESPACE_URL, name)
    if kind == "passing":
        return events.passing(user, course, is_passing=value, time=when, event_id=eid)
    if kind == "grade":
        return events.grade(user.pk, course, value, time=when, event_id=eid)
    if kind == "certificate":
        return events.certificate(user, course, status=value, time=when, event_id=eid)
    active, mode = value
    return events.enrollment(user, course, mode=mode, is_active=active, time=when, event_id=eid)


def outcome(user, slugs):
    """``user``'s active awards (when earned) and progress on the credentials ``slugs``."""
    awards = {a.credential.slug: a.earned_at for a in Award.objects.filter(
        user=user, current=True, credential__slug__in=slugs).select_related("credential")}
    progress = {p.credential.slug: (round(p.fraction, 9), p.met, p.requirements) for p in Progress.objects.filter(
        user=user, credential__slug__in=slugs).select_related("credential")}
    return awards, progress


def test_outcomes_depend_only_on_the_set_of_events(db, make_credential, on_commit, monkeypatch):
    # Signing is a task of its own, tested apart (tests/test_event_time.py signs a re-derived award).
    monkeypatch.setattr("openedx_microcred.dispatch.queue_signing", lambda award_pk: None)
    users = itertools.count()

    def learner():
        n = next(users)
        return get_user_model().objects.create_user(f"prop{n}", f"prop{n}@example.com")  # no password: hashing is slow

    @RUNS
    @given(scenario=scenarios())
    def check(scenario):
        org, catalog, history, arrival = scenario
        for slug, criteria, policy in catalog:
            make_credential(slug, criteria, revocation_policy=policy, org=org)
        slugs = [slug for slug, _, _ in catalog]

        in_time = learner()
        for event in sorted(history):
            with on_commit():
                send(in_time, event)
        expected = outcome(in_time, slugs)

        one_by_one = learner()
        for event in arrival:
            with on_commit():
                send(one_by_one, event)
        assert outcome(one_by_one, slugs) == expected, (history, arrival)

        at_once = learner()
        with on_commit():  # every event recorded before any evaluation runs
            for event in reversed(arrival):
                send(at_once, event)
        assert outcome(at_once, slugs) == expected, (history, arrival)

        # Two learners' events interleaved before any evaluation: the first task evaluates both in
        # one micro-batch (evaluation.evaluate_pending), each decided as if alone.
        pair = learner(), learner()
        with on_commit():
            for first, second in itertools.zip_longest(arrival, reversed(arrival)):
                for user, event in zip(pair, (first, second)):
                    if event is not None:
                        send(user, event)
        assert [outcome(user, slugs) for user in pair] == [expected, expected], (history, arrival)

    check()  # pylint: disable=no-value-for-parameter  (hypothesis's @given supplies the arguments)
