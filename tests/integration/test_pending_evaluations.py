"""
Lost evaluations are found again (SQLite, in-process; the worker and broker faults themselves are in
test_faults.py): a fact whose value changed stays "pending" until an evaluation has seen it, and the
evaluation sweep queues the learners whose facts waited too long.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from openedx_microcred import api, catalog, facts, issuance, tasks
from openedx_microcred.catalog import publish_credential, sweep_learner_fan_outs
from openedx_microcred.models import Award, Credential, LearnerFact
from openedx_microcred.settings.common import BEAT_SCHEDULE, plugin_settings
from openedx_microcred.tasks import evaluate_credential_learners_task, evaluate_learner_task, issue_award_task

from .. import events
from ..conftest import C1, C2


def pending(user, course=C1, kind="passing"):
    return LearnerFact.objects.get(user=user, course_key=course, kind=kind).pending_since


@pytest.fixture
def broker_down(monkeypatch):
    """Queueing an evaluation (a learner's, or a published credential's learners) fails as with the broker down."""
    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(evaluate_learner_task, "apply_async", down)
    monkeypatch.setattr(evaluate_credential_learners_task, "apply_async", down)
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
    out = capsys.readouterr().out
    assert "Queued 1 evaluations and 0 deliveries." in out
    # The credential's own fan-out never ran: the test's transaction never commits (on_commit).
    assert "Resumed the evaluation of the learners of 1 published credentials." in out
    assert Award.objects.filter(user=learner, current=True).count() == 1


def test_celery_beat_runs_both_sweeps(settings):
    assert BEAT_SCHEDULE["openedx_microcred.sweep_evaluations"]["task"] == "openedx_microcred.sweep_evaluations"
    settings.CELERYBEAT_SCHEDULE = {}
    plugin_settings(settings)
    assert set(settings.CELERYBEAT_SCHEDULE) >= {"openedx_microcred.sweep_evaluations",
                                                 "openedx_microcred.sweep_deliveries"}


# --- Publishing's fan-out: the learners who already meet a newly published credential ------------


def test_publishing_with_the_broker_down_saves_and_the_sweep_awards_later(learner, make_credential, on_commit,
                                                                          broker_down, caplog):
    draft = make_credential("basics", {"type": "course_passed", "course": C1}, state=Credential.State.DRAFT)
    with on_commit():
        events.passing(learner, C1)  # recorded; its evaluation is lost (and would award nothing: a draft)
    with on_commit():
        publish_credential(draft)  # the course team's publish succeeds; the fan-out's task is lost
    assert "could not queue the evaluation of the learners of credential" in caplog.text
    draft.refresh_from_db()
    assert draft.state == Credential.State.ACTIVE and draft.learners_pending_since is not None
    assert not Award.objects.exists()

    broker_down.undo()
    assert sweep_learner_fan_outs() == 0  # not waited long enough: it may only be slow
    assert sweep_learner_fan_outs(now=timezone.now() + timedelta(seconds=601)) == 1
    assert Award.objects.filter(user=learner, credential=draft, current=True).count() == 1
    draft.refresh_from_db()
    assert draft.learners_pending_since is None and draft.learners_done_through == learner.pk


def test_a_lost_chunk_is_resumed_after_the_last_learner_done(make_credential, on_commit, monkeypatch):
    monkeypatch.setattr(tasks, "LEARNER_CHUNK", 2)
    draft = make_credential("basics", {"type": "course_passed", "course": C1}, state=Credential.State.DRAFT)
    learners = [get_user_model().objects.create_user(f"l{i}", f"l{i}@example.com", "pw") for i in range(5)]
    with on_commit():
        for user in learners:
            events.passing(user, C1)
    evaluated = []
    real_evaluate = api.evaluate_learner
    monkeypatch.setattr(api, "evaluate_learner", lambda user_id, *a: evaluated.append(user_id)
                        or real_evaluate(user_id, *a))
    # The first chunk runs; queueing the second fails (the broker went down meanwhile).
    queued = []
    monkeypatch.setattr(tasks.evaluate_credential_learners_task, "apply_async",
                        lambda args, **kw: queued.append(args) or (len(queued) == 1 and tasks
                                                                   .evaluate_credential_learners_task(*args)) or
                        (len(queued) > 1 and (_ for _ in ()).throw(ConnectionError("broker down"))))
    with on_commit():
        catalog.publish_credential(draft)
    assert evaluated == [learners[0].pk, learners[1].pk]
    draft.refresh_from_db()
    assert draft.learners_done_through == learners[1].pk and draft.learners_pending_since is not None

    monkeypatch.setattr(tasks.evaluate_credential_learners_task, "apply_async",
                        lambda args, **kw: tasks.evaluate_credential_learners_task(*args))
    assert catalog.sweep_learner_fan_outs(older_than=0) == 1
    assert evaluated == [u.pk for u in learners]  # resumed after the second learner: none evaluated twice
    assert Award.objects.filter(credential=draft, current=True).count() == 5
    draft.refresh_from_db()
    assert draft.learners_pending_since is None
    assert catalog.sweep_learner_fan_outs(older_than=0) == 0


def test_a_burst_of_one_learners_events_is_evaluated_once(learner, make_credential, on_commit, monkeypatch,
                                                          django_assert_num_queries):
    make_credential("basics", {"type": "course_passed", "course": C1})
    queued = []
    monkeypatch.setattr(evaluate_learner_task, "apply_async", lambda args, **kw: queued.append(args))
    with on_commit():  # three events arrive before the worker takes the first task
        events.grade(learner.pk, C1, 0.5, time=events.at(1))
        events.grade(learner.pk, C1, 0.9, time=events.at(2))
        events.passing(learner, C1, time=events.at(3))
    assert queued == [(learner.pk, C1)] * 3
    assert evaluate_learner_task(*queued[0])["awarded"] == ["basics"]  # it read all three facts
    with django_assert_num_queries(1):  # the others only look for pending facts
        assert evaluate_learner_task(*queued[1]) == {"awarded": [], "revoked": [], "skipped": "nothing pending"}
    assert evaluate_learner_task(*queued[2])["skipped"]
    assert Award.objects.filter(user=learner, current=True).count() == 1
    # An operator's re-evaluation (no course) always runs.
    assert "skipped" not in evaluate_learner_task(learner.pk, None)


def test_an_award_whose_signing_task_was_lost_is_signed_by_the_sweep(learner, make_credential, on_commit,
                                                                     monkeypatch, capsys):
    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    make_credential("basics", {"type": "course_passed", "course": C1})
    make_credential("other", {"type": "course_passed", "course": C2})
    monkeypatch.setattr(issue_award_task, "apply_async", down)
    with on_commit():  # the evaluation runs; the signing task of each award is lost
        events.passing(learner, C1)
        events.passing(learner, C2)
    basics, other = (Award.objects.get(user=learner, credential__slug=s) for s in ("basics", "other"))
    assert basics.document is None and other.document is None
    Award.objects.filter(pk=other.pk).update(status=Award.Status.REVOKED, current=None)  # revoked: never signed
    monkeypatch.undo()

    assert issuance.sweep_unsigned() == 0  # made just now: its task may only be slow
    assert issuance.sweep_unsigned(now=timezone.now() + timedelta(seconds=601)) == 1
    basics.refresh_from_db()
    assert issuance.verify_credential(basics.document).valid
    assert Award.objects.get(pk=other.pk).document is None
    # The command does the same (with the fan-outs this test's uncommitted transaction left: they
    # award "other" again, its signing task queued on a commit that never comes).
    call_command("microcred_sweep", "--older-than", "0")
    assert "Queued the signing of 1 awards left unsigned." in capsys.readouterr().out
    assert not Award.objects.filter(status=Award.Status.ACTIVE, document__isnull=True).exists()
