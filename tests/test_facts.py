"""
The receiver on the platform's path (issue 15, docs/decisions/0018): two statements and no read for
an event not held before, whatever the fact held; the rare cases read to tell themselves apart.
Run on SQLite in the fast suite, and on MariaDB and PostgreSQL with SANDBOX_DB=mysql / postgresql.
"""

import itertools
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openedx_microcred import facts
from openedx_microcred.models import LearnerEvent, LearnerFact, RejectedEvent, RetirementRecord, subject_hash
from openedx_microcred.tasks import evaluate_learner_task

from . import events
from .conftest import C1

PASSING_EVENT = "org.openedx.learning.course.passing.status.updated.v1"


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """The evaluation is queued on commit, not run: only the receiver's statements are counted."""
    monkeypatch.setattr(evaluate_learner_task, "apply_async", lambda *a, **k: None)


def eid(number):
    """The event id the platform would send: a UUID (ordered by ``number``)."""
    return uuid.UUID(int=number)


def statements(ctx):
    """The SQL run, leaving out the savepoints of the receiver's atomic block inside the test's transaction."""
    return [q["sql"] for q in ctx.captured_queries
            if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def sent(send):
    """(outcome, statements) of one event sent through the platform's signal."""
    with CaptureQueriesContext(connection) as ctx:
        outcome = send()
    return outcome, statements(ctx)


def the_fact(user):
    return LearnerFact.objects.get(user=user, course_key=C1, kind="passing")


def history(user):
    return sorted(LearnerEvent.objects.filter(user=user).values_list("event_id", flat=True))


def test_a_first_event_is_two_inserts_and_no_read(learner):
    outcome, sql = sent(lambda: events.passing(learner, C1, time=events.at(1), event_id=eid(1)))
    assert outcome == facts.APPLIED
    assert [s.split()[0].upper() for s in sql] == ["INSERT", "INSERT"], sql
    fact = the_fact(learner)
    assert (fact.value, fact.event_id, fact.event_time) == ({"passed": True}, str(eid(1)), events.at(1))
    assert fact.pending_since is not None and fact.modified is not None
    assert history(learner) == [str(eid(1))]


def test_a_newer_event_with_the_same_value_is_unchanged_in_two_statements(learner):
    events.passing(learner, C1, time=events.at(1), event_id=eid(1))
    LearnerFact.objects.update(pending_since=None)
    before = the_fact(learner)
    outcome, sql = sent(lambda: events.passing(learner, C1, time=events.at(2), event_id=eid(2)))
    assert outcome == facts.UNCHANGED
    assert len(sql) == 2 and not any(s.upper().startswith("SELECT") for s in sql), sql
    fact = the_fact(learner)
    assert (fact.value, fact.event_id, fact.event_time) == ({"passed": True}, str(eid(2)), events.at(2))
    assert fact.modified > before.modified and fact.pending_since is not None  # its time counts: evaluated again
    assert history(learner) == [str(eid(1)), str(eid(2))]


def test_a_newer_event_with_another_value_is_applied_in_two_statements(learner):
    events.passing(learner, C1, time=events.at(1), event_id=eid(1))
    pending = the_fact(learner).pending_since
    outcome, sql = sent(lambda: events.passing(learner, C1, is_passing=False, time=events.at(2), event_id=eid(2)))
    assert outcome == facts.APPLIED
    assert len(sql) == 2, sql
    fact = the_fact(learner)
    assert (fact.value, fact.event_id, fact.event_time) == ({"passed": False}, str(eid(2)), events.at(2))
    assert fact.pending_since == pending  # still waiting since the first: the sweep counts from there


def test_an_older_event_is_stale_kept_in_the_history_and_leaves_the_fact_pending(learner):
    events.passing(learner, C1, time=events.at(5), event_id=eid(5))
    LearnerFact.objects.update(pending_since=None)
    outcome, sql = sent(lambda: events.passing(learner, C1, is_passing=False, time=events.at(1), event_id=eid(1)))
    assert outcome == facts.STALE
    assert len(sql) <= 2, sql
    fact = the_fact(learner)
    assert (fact.value, fact.event_id) == ({"passed": True}, str(eid(5)))
    assert fact.pending_since is not None  # the late event changes the timeline: an evaluation is due
    assert history(learner) == [str(eid(1)), str(eid(5))]
    pending = fact.pending_since
    assert events.passing(learner, C1, time=events.at(2), event_id=eid(2)) == facts.STALE
    assert the_fact(learner).pending_since == pending


@pytest.mark.parametrize("event_id, time", [(2, 2), (1, 1)], ids=["the fact's event", "an older event"])
def test_an_event_held_already_is_a_duplicate_and_changes_nothing(learner, event_id, time):
    events.passing(learner, C1, time=events.at(1), event_id=eid(1))
    events.passing(learner, C1, is_passing=False, time=events.at(2), event_id=eid(2))
    before = the_fact(learner)
    outcome, sql = sent(lambda: events.passing(learner, C1, time=events.at(time), event_id=eid(event_id)))
    assert outcome == facts.DUPLICATE
    assert len(sql) == 2, sql  # the history insert that kept nothing, then the read telling why
    after = the_fact(learner)
    assert (after.value, after.event_id, after.modified) == (before.value, before.event_id, before.modified)
    assert history(learner) == [str(eid(1)), str(eid(2))]


@pytest.mark.django_db
def test_an_unknown_user_is_rejected_with_the_reason_and_nothing_is_kept():
    outcome, _ = sent(lambda: events.grade(987654, C1, 0.8, time=events.at(1), event_id=eid(1)))
    assert outcome == facts.REJECTED
    assert RejectedEvent.objects.get().reason == "unknown user id 987654"
    assert not LearnerEvent.objects.exists() and not LearnerFact.objects.exists()


def test_a_retired_learners_event_is_ignored_and_nothing_is_kept(learner):
    RetirementRecord.objects.create(subject=subject_hash(learner.pk), source="test")
    outcome, _ = sent(lambda: events.passing(learner, C1, time=events.at(1), event_id=eid(1)))
    assert outcome == facts.IGNORED
    assert not LearnerEvent.objects.exists() and not LearnerFact.objects.exists()


def update(learner, value, event_id, minutes):
    return facts.FactUpdate(learner.pk, C1, "passing", value, event_id, PASSING_EVENT, events.at(minutes))


def test_equal_values_are_unchanged_whatever_the_order_of_their_keys(learner):
    assert facts.record_fact(update(learner, {"a": 1, "b": [1, 2]}, str(eid(1)), 1)) == facts.APPLIED
    assert facts.record_fact(update(learner, {"b": [1, 2], "a": 1}, str(eid(2)), 2)) == facts.UNCHANGED


def test_values_differing_only_in_letter_case_are_different(learner):
    """The comparison is exact where the database keeps JSON as text (MariaDB, SQLite): no collation folds case."""
    assert facts.record_fact(update(learner, {"mode": "a"}, str(eid(1)), 1)) == facts.APPLIED
    assert facts.record_fact(update(learner, {"mode": "A"}, str(eid(2)), 2)) == facts.APPLIED
    assert the_fact(learner).value == {"mode": "A"}


def test_events_of_the_same_time_are_ordered_by_event_id_code_point_by_code_point(learner):
    """As Python orders them ("a" after "B"), not as a case-insensitive collation would."""
    assert facts.record_fact(update(learner, {"passed": False}, "B", 1)) == facts.APPLIED
    assert facts.record_fact(update(learner, {"passed": True}, "a", 1)) == facts.APPLIED
    assert facts.record_fact(update(learner, {"passed": False}, "C", 1)) == facts.STALE
    fact = the_fact(learner)
    assert (fact.event_id, fact.value, fact.event_time) == ("a", {"passed": True}, events.at(1))


def test_a_microsecond_newer_event_replaces_the_fact(learner):
    assert facts.record_fact(update(learner, {"passed": False}, "z", 1)) == facts.APPLIED
    later = facts.FactUpdate(learner.pk, C1, "passing", {"passed": True}, "a", PASSING_EVENT,
                             events.at(1) + timedelta(microseconds=1))
    assert facts.record_fact(later) == facts.APPLIED
    assert the_fact(learner).event_time == events.at(1) + timedelta(microseconds=1)


@pytest.mark.django_db
def test_the_outcome_does_not_depend_on_the_order_the_events_came_in(django_user_model):
    """The fact and the history are those of the set of events: each order ends at the newest."""
    sequence = [("e1", 1, {"passed": True}), ("e2", 2, {"passed": False}), ("e3", 3, {"passed": True})]
    for number, order in enumerate(itertools.permutations(sequence)):
        user = django_user_model.objects.create_user(f"order{number}")
        for event_id, minutes, value in order + order[:1]:
            facts.record_fact(facts.FactUpdate(user.pk, C1, "passing", value, event_id, PASSING_EVENT,
                                               events.at(minutes)))
        fact = the_fact(user)
        assert (fact.event_id, fact.value, fact.event_time) == ("e3", {"passed": True}, events.at(3))
        assert history(user) == ["e1", "e2", "e3"]


def writer_between_the_statements(user, value, event_id, minutes):
    """An execute wrapper that, once the history insert ran, replaces the fact as another writer would."""
    done = []

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not done and sql.startswith("INSERT") and LearnerEvent._meta.db_table in sql.split("(")[0]:
            done.append(sql)
            LearnerFact.objects.filter(user=user, course_key=C1, kind="passing").update(
                value=value, event_id=event_id, event_time=events.at(minutes))
        return result
    return wrapper, done


@pytest.mark.parametrize("writer_minutes, outcome, held", [
    (9, facts.STALE, "w9"),  # the other writer's event is newer than ours
    (2, facts.APPLIED, str(eid(3))),  # ours is newer than the other writer's
])
def test_a_fact_replaced_between_the_two_statements_is_decided_again_against_the_new_one(
        learner, writer_minutes, outcome, held):
    events.passing(learner, C1, time=events.at(1), event_id=eid(1))
    wrapper, done = writer_between_the_statements(learner, {"passed": True}, f"w{writer_minutes}", writer_minutes)
    with connection.execute_wrapper(wrapper):
        assert events.passing(learner, C1, is_passing=False, time=events.at(3), event_id=eid(3)) == outcome
    assert done
    fact = the_fact(learner)
    assert fact.event_id == held
    assert fact.value == ({"passed": True} if outcome == facts.STALE else {"passed": False})
    assert str(eid(3)) in history(learner)
