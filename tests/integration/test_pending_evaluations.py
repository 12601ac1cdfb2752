"""
Lost evaluations are found again (SQLite, in-process; the worker and broker faults themselves are in
test_faults.py): a fact whose value changed stays "pending" until an evaluation has seen it, and the
evaluation sweep queues the learners whose facts waited too long.
"""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from openedx_microcred import facts
from openedx_microcred.models import Award, LearnerFact
from openedx_microcred.settings.common import BEAT_SCHEDULE
from openedx_microcred.tasks import evaluate_learner_task

from .. import events
from ..conftest import C1, C2


def pending(user, course=C1, kind="passing"):
    return LearnerFact.objects.get(user=user, course_key=course, kind=kind).pending_since


@pytest.fixture
def broker_down(monkeypatch):
    """Queueing an evaluation fails as with the broker down (the receivers log it and go on)."""
    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(evaluate_learner_task, "apply_async", down)
    return monkeypatch


def test_a_changed_fact_is_pending_until_evaluated(learner, on_commit, broker_down):
    with on_commit():
        assert events.passing(learner, C1, time=events.at(1)) == "applied"
    first = pending(learner)
    assert first is not None
    # A newer value while still pending keeps the first time: it has waited since then.
    with on_commit():
        assert events.passing(learner, C1, is_passing=False, time=events.at(2)) == "applied"
    assert pending(learner) == first
    broker_down.undo()
    evaluate_learner_task(learner.pk, C1)
    assert pending(learner) is None


@pytest.mark.parametrize("send", [
    lambda u: events.passing(u, C1, time=events.at(5)),  # same value, newer: nothing to evaluate
    lambda u: events.passing(u, C1, time=events.at(0)),  # older: stale
])
def test_an_event_that_changes_nothing_leaves_no_pending_fact(learner, on_commit, send):
    with on_commit():
        events.passing(learner, C1, time=events.at(1))
    assert pending(learner) is None  # evaluated at once (eager Celery in the tests)
    with on_commit():
        assert send(learner) in ("unchanged", "stale")
    assert pending(learner) is None


def test_a_fact_replaced_during_the_evaluation_stays_pending(learner, on_commit, broker_down):
    with on_commit():
        events.passing(learner, C1, time=events.at(1))
    seen = facts.pending_facts(learner.pk, C1)
    # The evaluation runs now; meanwhile a newer event arrives (its own task is lost too).
    with on_commit():
        events.passing(learner, C1, is_passing=False, time=events.at(2))
    assert facts.mark_evaluated(seen) == 0
    assert pending(learner) is not None


def test_the_sweep_queues_what_waited_too_long_once_per_learner_and_course(learner, make_credential, on_commit,
                                                                          broker_down, settings):
    make_credential("basics", {"type": "all", "of": [{"type": "course_passed", "course": C1},
                                                     {"type": "course_passed", "course": C2}]})
    with on_commit():
        events.passing(learner, C1)
        events.grade(learner.pk, C1, 0.9)
        events.passing(learner, C2)
    assert LearnerFact.objects.filter(pending_since__isnull=False).count() == 3
    assert not Award.objects.exists()
    broker_down.undo()

    settings.MICROCRED_PENDING_EVALUATION_AFTER = 600
    assert facts.sweep_pending_evaluations() == 0  # they have not waited long enough
    later = timezone.now() + timedelta(seconds=601)
    queued = []
    broker_down.setattr(evaluate_learner_task, "apply_async",
                        lambda args, **kw: queued.append(args) or evaluate_learner_task(*args))
    assert facts.sweep_pending_evaluations(now=later) == 2
    assert sorted(queued) == [(learner.pk, C1), (learner.pk, C2)]
    assert Award.objects.filter(user=learner, credential__slug="basics", current=True).count() == 1
    assert not LearnerFact.objects.filter(pending_since__isnull=False).exists()


def test_swept_facts_wait_another_period_before_the_next_sweep(learner, on_commit, broker_down):
    with on_commit():
        events.passing(learner, C1)
    later = timezone.now() + timedelta(seconds=601)
    assert facts.sweep_pending_evaluations(now=later) == 1  # queued (and lost again: the broker is down)
    assert pending(learner) == later
    assert facts.sweep_pending_evaluations(now=later + timedelta(seconds=10)) == 0
    assert facts.sweep_pending_evaluations(now=later + timedelta(seconds=601)) == 1


def test_microcred_sweep_command(learner, make_credential, on_commit, broker_down, capsys):
    make_credential("basics", {"type": "course_passed", "course": C1})
    with on_commit():
        events.passing(learner, C1)
    broker_down.undo()
    call_command("microcred_sweep")
    assert "Queued 0 evaluations and 0 deliveries." in capsys.readouterr().out
    call_command("microcred_sweep", "--older-than", "0")
    assert "Queued 1 evaluations and 0 deliveries." in capsys.readouterr().out
    assert Award.objects.filter(user=learner, current=True).count() == 1


def test_celery_beat_runs_both_sweeps(settings):
    from openedx_microcred.settings.common import plugin_settings

    assert BEAT_SCHEDULE["openedx_microcred.sweep_evaluations"]["task"] == "openedx_microcred.sweep_evaluations"
    settings.CELERYBEAT_SCHEDULE = {}
    plugin_settings(settings)
    assert set(settings.CELERYBEAT_SCHEDULE) >= {"openedx_microcred.sweep_evaluations",
                                                  "openedx_microcred.sweep_deliveries"}
