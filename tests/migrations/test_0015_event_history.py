"""Migration 0015: the facts held become the learners' history, and their watermark the newest of them."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from .. import events
from ..conftest import C1, C2

BEFORE = [("openedx_microcred", "0014_learner_sharing")]
AFTER = [("openedx_microcred", "0015_event_history")]


def test_facts_become_the_history_and_a_late_event_after_the_migration_is_late(transactional_db, django_user_model):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = django_user_model.objects.create_user("old", "old@example.com")
    Fact = old.get_model("openedx_microcred", "LearnerFact")
    Fact.objects.create(user_id=user.pk, course_key=C1, kind="passing", value={"passed": True}, event_id="e1",
                        event_type="t", event_time=events.at(10))
    Fact.objects.create(user_id=user.pk, course_key=C2, kind="grade", value={"percent": 0.5}, event_id="e2",
                        event_type="t", event_time=events.at(30), pending_since=events.at(31))

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    history = new.get_model("openedx_microcred", "LearnerEvent").objects.order_by("event_id")
    assert [(e.event_id, str(e.course_key), e.kind, e.value, e.evaluated) for e in history] == [
        ("e1", C1, "passing", {"passed": True}, True), ("e2", C2, "grade", {"percent": 0.5}, False)]
    # The newest evaluated fact: an event older than it, arriving now, is late.
    lock = new.get_model("openedx_microcred", "LearnerLock").objects.get(user_id=user.pk)
    assert lock.evaluated_through == events.at(10)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
