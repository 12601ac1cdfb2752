"""The cost of an event must not grow with the size of the catalog (the credentials service's did: 34 + 5·K)."""

from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openedx_microcred import issuance, keys
from openedx_microcred.models import Award
from openedx_microcred.tasks import evaluate_learner_task

from . import events
from .conftest import C1

# Receiver + evaluation of the affected credentials (3 on this course, a stack above them) + award writes.
# Measured: 42 for the third learner (36 before the per-learner evaluation lock, its one upsert, was
# added; 37 before the event history: its insert, the read of the new events and of evaluated_through,
# marking the event evaluated, moving evaluated_through; docs/decisions/0016).
QUERY_BUDGET = 45


def grow_catalog(make_credential, start, stop):
    for i in range(start, stop):
        course = f"course-v1:Other+C{i % 500}+2026"
        make_credential(f"other-{i}", {"type": "course_grade", "course": course, "min_percent": 60}, org="Other")


def event_queries(learner_name, on_commit):
    """The queries a new learner's passing of C1 costs, evaluation and its four awards included."""
    user = get_user_model().objects.create_user(learner_name, f"{learner_name}@example.com", "pw")
    with CaptureQueriesContext(connection) as ctx, on_commit():
        events.passing(user, C1)
    assert Award.objects.filter(user=user).count() == 4
    return len(ctx.captured_queries)


def test_queries_per_event_do_not_grow_with_credentials(db, make_credential, on_commit,
                                                        django_assert_max_num_queries, monkeypatch):
    # Signing each award is a task of its own (measured in test_issuing_costs_the_same_per_award).
    monkeypatch.setattr("openedx_microcred.dispatch.queue_signing", lambda award_pk: None)
    make_credential("a", {"type": "course_passed", "course": C1})
    make_credential("b", {"type": "any", "of": [{"type": "course_passed", "course": C1},
                                                {"type": "certificate", "course": C1}]})
    make_credential("c", {"type": "any", "of": [{"type": "course_passed", "course": C1},
                                                {"type": "course_passed", "course": "course-v1:DemoX+C1B+2026"}]})
    make_credential("stack", {"type": "all", "of": [{"type": "credential", "credential": s} for s in "abc"]})
    grow_catalog(make_credential, 4, 10)
    at_10 = event_queries("first", on_commit)
    grow_catalog(make_credential, 10, 1000)
    at_1000 = event_queries("second", on_commit)
    assert at_1000 == at_10, f"{at_10} queries at 10 credentials, {at_1000} at 1,000"
    user = get_user_model().objects.create_user("third", "third@example.com", "pw")
    with django_assert_max_num_queries(QUERY_BUDGET), on_commit():
        events.passing(user, C1)


def statements(ctx):
    """The SQL statements run, leaving out the savepoints the test's own transaction adds."""
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def test_receiver_alone_is_a_handful_of_queries(learner, monkeypatch):
    """
    Recording the fact (evaluation is queued, not run): the history insert and the fact upsert,
    for a new fact and for a newer event alike, and no read (docs/decisions/0018).
    """
    monkeypatch.setattr(evaluate_learner_task, "apply_async", lambda *a, **k: None)
    with CaptureQueriesContext(connection) as ctx:
        events.passing(learner, C1, time=events.at(1))
    assert len(statements(ctx)) == 2, statements(ctx)
    with CaptureQueriesContext(connection) as ctx:
        events.passing(learner, C1, is_passing=False, time=events.at(2))
    assert len(statements(ctx)) == 2, statements(ctx)


def test_issuing_costs_the_same_per_award(db, make_credential, on_commit):
    """The issuing task's queries do not depend on the catalog either (first key and list made beforehand)."""
    keys.signing_key()
    make_credential("a", {"type": "course_passed", "course": C1})
    grow_catalog(make_credential, 1, 10)
    user = get_user_model().objects.create_user("warm", "warm@example.com", "pw")
    with on_commit():
        events.passing(user, C1)  # creates the first status list

    def issuing_queries(name):
        user = get_user_model().objects.create_user(name, f"{name}@example.com", "pw")
        Award.objects.filter(document__isnull=True).update(document={})  # nothing else pending
        with on_commit():
            events.passing(user, C1)
        award = Award.objects.get(user=user)
        Award.objects.filter(pk=award.pk).update(document=None)
        with CaptureQueriesContext(connection) as ctx:
            issuance.issue_award(award.pk)
        return len(statements(ctx))

    at_10 = issuing_queries("x10")
    grow_catalog(make_credential, 10, 300)
    at_300 = issuing_queries("x300")
    assert at_300 == at_10 and at_10 <= 20, (at_10, at_300)
