"""
Evaluations of one learner are serialized by a lock row per learner (docs/decisions/0010), taken
as the first statement of the transaction that loads, decides and stores. The parallel-process
proof on MariaDB and PostgreSQL is tests/integration/test_serialized_evaluation.py; these check,
on every database, that nothing is read inside the transaction before the lock (on REPEATABLE READ
a read before it fixes the snapshot, and the evaluation decides from what it saw before waiting).
"""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from opaque_keys.edx.keys import CourseKey

from openedx_microcred import api, retirement
from openedx_microcred.models import Award, LearnerLock
from sandbox.host.models import CourseGrade

from . import events
from .conftest import C1, C2

LOCK_TABLE = LearnerLock._meta.db_table


def transaction_statements(ctx):
    """The statements run inside the outermost transaction (or savepoint) the code under test opened."""
    sqls = [q["sql"] for q in ctx.captured_queries]
    opened = next(i for i, sql in enumerate(sqls) if sql.startswith(("SAVEPOINT", "BEGIN")))
    return [sql for sql in sqls[opened + 1:] if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def is_lock(sql):
    return sql.startswith("INSERT INTO") and LOCK_TABLE in sql.split("(")[0]


@pytest.fixture
def stack(make_credential):
    make_credential("passed-c1", {"type": "course_passed", "course": C1})
    make_credential("passed-c2", {"type": "course_passed", "course": C2})
    make_credential("any-two", {"type": "at_least", "n": 2, "of": [
        {"type": "credential", "credential": "passed-c1"}, {"type": "credential", "credential": "passed-c2"}]})


def test_an_evaluation_takes_the_learner_lock_before_it_reads_anything(stack, learner, monkeypatch):
    monkeypatch.setattr("openedx_microcred.tasks.evaluate_learner_task.apply_async", lambda *a, **k: None)
    events.passing(learner, C1, time=events.at(1))
    with CaptureQueriesContext(connection) as ctx:
        api.evaluate_learner(learner.pk, C1)
    inside = transaction_statements(ctx)
    assert is_lock(inside[0]), inside[:3]
    assert sum(map(is_lock, inside)) == 1
    assert LearnerLock.objects.filter(user_id=learner.pk).count() == 1
    # The second evaluation (the other course) takes the same row again and sees the first's award.
    events.passing(learner, C2, time=events.at(2))
    with CaptureQueriesContext(connection) as ctx:
        result = api.evaluate_learner(learner.pk, C2)
    assert is_lock(transaction_statements(ctx)[0])
    assert result.awarded == ["passed-c2", "any-two"]
    assert LearnerLock.objects.filter(user_id=learner.pk).count() == 1


def test_a_back_fill_chunk_takes_its_learners_locks_before_it_reads_anything(stack, learner):
    CourseGrade.objects.create(user_id=learner.pk, course_id=CourseKey.from_string(C1), percent_grade=0.9,
                               letter_grade="Pass", passed_timestamp=events.at(1), grading_policy_hash="h",
                               modified=events.at(1))
    with CaptureQueriesContext(connection) as ctx:
        call_command("microcred_backfill", "--course", C1, stdout=io.StringIO(), stderr=io.StringIO())
    locks = [i for i, q in enumerate(ctx.captured_queries) if is_lock(q["sql"])]
    assert len(locks) == 2  # the chunk's, then the evaluation's (the same row, already held)
    before = [q["sql"] for q in ctx.captured_queries[:locks[0]]]
    opened = max(i for i, sql in enumerate(before) if sql.startswith(("SAVEPOINT", "BEGIN")))
    assert not before[opened + 1:], before[opened + 1:]
    assert Award.objects.filter(user_id=learner.pk, credential__slug="passed-c1", current=True).exists()


def test_retiring_a_learner_waits_for_their_evaluation_and_removes_the_lock_row(stack, learner, monkeypatch):
    monkeypatch.setattr("openedx_microcred.tasks.evaluate_learner_task.apply_async", lambda *a, **k: None)
    events.passing(learner, C1, time=events.at(1))
    api.evaluate_learner(learner.pk, C1)
    with CaptureQueriesContext(connection) as ctx:
        retirement.retire_learner(learner.pk)
    assert is_lock(transaction_statements(ctx)[0])
    assert not LearnerLock.objects.filter(user_id=learner.pk).exists()
