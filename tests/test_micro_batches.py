"""
A worker's evaluation task evaluates a micro-batch (evaluation.evaluate_pending): its own learner
and the learners of the facts that have waited longest, in the same few queries as one learner.
Each learner is decided as if alone; the tasks of the learners a batch took stop after one query.
"""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from openedx_microcred import facts, tasks
from openedx_microcred.checks import check_evaluation_batch
from openedx_microcred.models import Award, LearnerEvent, LearnerFact, LearnerLock, Progress

from . import events
from .conftest import C1, C2

C3 = "course-v1:DemoX+C3+2026"


@pytest.fixture
def queued(monkeypatch):
    """The evaluation tasks the receivers queue, held back as a busy worker's queue holds them."""
    held = []
    monkeypatch.setattr(tasks.evaluate_learner_task, "apply_async", lambda args, **kw: held.append(tuple(args)))
    monkeypatch.setattr("openedx_microcred.dispatch.queue_signing", lambda award_pk: None)
    return held


@pytest.fixture
def stack(make_credential):
    """A credential for passing C1, one for a grade in C2, and a stack of both."""
    make_credential("passed-c1", {"type": "course_passed", "course": C1})
    make_credential("graded-c2", {"type": "course_grade", "course": C2, "min_percent": 70})
    make_credential("both", {"type": "all", "of": [{"type": "credential", "credential": "passed-c1"},
                                                   {"type": "credential", "credential": "graded-c2"}]})


def make_learners(count, prefix="batch"):
    return [get_user_model().objects.create_user(f"{prefix}{n}", f"{prefix}{n}@example.com") for n in range(count)]


def journeys(learners):
    """Events of many learners, interleaved as a busy LMS sends them: one passes C1, one is graded in C2..."""
    for n, user in enumerate(learners):
        events.passing(user, C1, time=events.at(n + 1))
        if n % 2:
            events.grade(user.pk, C2, 0.5, time=events.at(n + 2))
            events.grade(user.pk, C2, 0.8, time=events.at(n + 3))
        if n % 3 == 0:
            events.enrollment(user, C3, time=events.at(n + 1))  # a course nothing depends on
        if n % 5 == 0:
            events.passing(user, C1, is_passing=False, time=events.at(n))  # late: older than the pass


def outcomes(learners):
    """Each learner's active awards (with their earned times) and progress rows."""
    result = {}
    for user in learners:
        awards = {a.credential.slug: a.earned_at for a in
                  Award.objects.filter(user=user, current=True).select_related("credential")}
        progress = {p.credential.slug: (p.fraction, p.met, p.requirements) for p in
                    Progress.objects.filter(user=user).select_related("credential")}
        result[user.username] = (awards, progress)
    return result


def run(held):
    results = []
    while held:
        results.append(tasks.evaluate_learner_task(*held.pop(0)))
    return results


def settled(learners):
    ids = [user.pk for user in learners]
    return (not LearnerFact.objects.filter(user_id__in=ids, pending_since__isnull=False).exists()
            and not LearnerEvent.objects.filter(user_id__in=ids, evaluated=False).exists())


def test_the_first_task_of_a_deep_queue_evaluates_every_learner_waiting(stack, on_commit, queued):
    learners = make_learners(12)
    with on_commit():
        journeys(learners)
    assert len(queued) > len(learners)
    first = tasks.evaluate_learner_task(*queued.pop(0))
    assert first["learners"] == len(learners)
    assert settled(learners)
    for args in queued:
        with CaptureQueriesContext(connection) as ctx:
            assert tasks.evaluate_learner_task(*args) == {"awarded": [], "revoked": [], "skipped": "nothing pending"}
        assert len(ctx.captured_queries) == 1


def test_a_batch_decides_each_learner_as_one_task_per_event_would(stack, on_commit, queued):
    alone, together = make_learners(12, "alone"), make_learners(12, "together")
    with override_settings(MICROCRED_EVALUATION_BATCH=1):
        with on_commit():
            journeys(alone)
        results = run(queued)
    assert all(result.get("learners", 1) == 1 for result in results)
    with on_commit():
        journeys(together)
    run(queued)
    assert settled(alone) and settled(together)
    expected = outcomes(alone)
    assert sum(len(awards) for awards, _ in expected.values()) >= 12  # the stacks were earned, not only nothing
    assert outcomes(together) == {name.replace("alone", "together"): value for name, value in expected.items()}


@override_settings(MICROCRED_EVALUATION_BATCH=4)
def test_a_batch_takes_the_facts_that_waited_longest(stack, on_commit, queued):
    learners = make_learners(6)
    with on_commit():
        for n, user in enumerate(learners):
            events.passing(user, C1, time=events.at(n + 1))
    last = queued.pop()
    result = tasks.evaluate_learner_task(*last)  # the newest learner's task, with the three oldest
    assert result["learners"] == 4 and result["awarded"] == ["passed-c1"]
    evaluated = set(Award.objects.values_list("user_id", flat=True))
    assert evaluated == {learners[0].pk, learners[1].pk, learners[2].pk, learners[5].pk}
    run(queued)
    assert settled(learners) and Award.objects.filter(current=True).count() == 6


def test_a_batch_locks_every_learner_before_it_reads_anything(stack, on_commit, queued):
    learners = make_learners(3)
    with on_commit():
        for n, user in enumerate(learners):
            events.passing(user, C1, time=events.at(n + 1))
    lock_table = connection.ops.quote_name(LearnerLock._meta.db_table)
    with CaptureQueriesContext(connection) as ctx:
        assert tasks.evaluate_learner_task(*queued[-1])["learners"] == 3
    sqls = [q["sql"] for q in ctx.captured_queries]
    opened = next(i for i, sql in enumerate(sqls) if sql.startswith(("SAVEPOINT", "BEGIN")))
    inside = [sql for sql in sqls[opened + 1:] if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert inside[0].startswith("INSERT INTO") and lock_table in inside[0], inside[:3]  # its own learner, waiting
    if connection.features.has_select_for_update_skip_locked:  # the others, if no one holds them
        assert lock_table in inside[1] and "SKIP LOCKED" in inside[1], inside[:3]
    assert settled(learners)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite",
                    reason="SQLite has no row locks: a batch's write lock holds the whole database (CI runs this on "
                           "MariaDB and PostgreSQL)")
def test_a_batch_leaves_the_learners_another_worker_holds_to_it(stack, queued):
    mine, theirs = make_learners(2)
    LearnerLock.objects.create(user_id=theirs.pk, locked_at=timezone.now())  # evaluated before
    events.passing(mine, C1, time=events.at(2))
    events.passing(theirs, C1, time=events.at(1))  # waited longer: the batch would take it
    holding, done = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                LearnerLock.take([theirs.pk])
                holding.set()
                done.wait(30)
        finally:
            connection.close()

    worker = threading.Thread(target=other_worker)
    worker.start()
    assert holding.wait(30)
    try:
        result = tasks.evaluate_learner_task(mine.pk, C1)  # does not wait for the learner held
    finally:
        done.set()
        worker.join(30)
    assert result == {"awarded": ["passed-c1"], "revoked": [], "learners": 1}
    assert LearnerFact.objects.get(user=theirs, course_key=C1).pending_since is not None
    assert tasks.evaluate_learner_task(theirs.pk, C1)["awarded"] == ["passed-c1"]
    assert settled([mine, theirs])


def test_the_pending_marks_of_a_thousand_and_more_facts_are_cleared(learner):
    # A batch of 200 learners with their every pending fact: more than one statement can hold.
    made = LearnerFact.objects.bulk_create([
        LearnerFact(user=learner, course_key=f"course-v1:DemoX+M{n}+2026", kind="grade", value={"percent": 0.5},
                    event_id=f"event-{n}", event_type="grade", event_time=timezone.now(), pending_since=timezone.now())
        for n in range(1100)])
    pending = [(fact.pk, fact.event_id) for fact in LearnerFact.objects.filter(user=learner)]
    assert len(pending) == len(made) == 1100
    assert facts.mark_evaluated(pending) == 1100
    assert not LearnerFact.objects.filter(user=learner, pending_since__isnull=False).exists()


@pytest.mark.parametrize("value", [0, -5, 10_001, "200", 2.5, True, None])
def test_an_unusable_batch_size_is_a_system_check_error_and_the_default_is_used(
        value, stack, on_commit, queued, settings):
    settings.MICROCRED_EVALUATION_BATCH = value
    errors = check_evaluation_batch()
    assert [error.id for error in errors] == ["openedx_microcred.E003"]
    assert repr(value) in errors[0].msg and "1 to 10,000" in errors[0].msg
    learners = make_learners(3)
    with on_commit():
        for n, user in enumerate(learners):
            events.passing(user, C1, time=events.at(n + 1))
    assert tasks.evaluate_learner_task(*queued[-1])["learners"] == 3  # batches of the default, 200
    assert settled(learners)


@pytest.mark.parametrize("value", [1, 200, 10_000])
def test_a_batch_size_from_1_to_10000_passes_the_check(value, settings):
    settings.MICROCRED_EVALUATION_BATCH = value
    assert not check_evaluation_batch()
